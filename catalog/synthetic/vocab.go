package synthetic

// The vocabulary below is what makes the synthetic catalog read like a health-IT catalog: search
// and site benchmarks need text with realistic words, lengths and repetition, not random bytes.

// iface is one entry of the interface registry written to index.toml.
type iface struct {
	id, name, uri, version string
	properties             []string
	substitutesFor         []string
	phrase                 string // how a description names a provider of it, e.g. "a PostgreSQL database"
}

var interfaces = []iface{
	{id: "hl7-fhir-r4", name: "HL7 FHIR R4", uri: "http://hl7.org/fhir/R4", version: "4.0.1",
		properties: []string{"url"}, phrase: "a FHIR R4 server"},
	{id: "smart-app-launch", name: "SMART App Launch", uri: "http://hl7.org/fhir/smart-app-launch", version: "2.2.0",
		properties: []string{"launch_url", "redirect_url"}, phrase: "a SMART on FHIR launcher"},
	{id: "cds-hooks", name: "CDS Hooks", uri: "https://cds-hooks.hl7.org/2.0", version: "2.0",
		properties: []string{"discovery_url"}, phrase: "a CDS Hooks client"},
	{id: "fhir-terminology", name: "FHIR Terminology Service", uri: "http://hl7.org/fhir/R4/terminology-service.html", version: "4.0.1",
		properties: []string{"url"}, phrase: "a FHIR terminology service"},
	{id: "hl7v2-mllp", name: "HL7 v2 over MLLP", uri: "https://www.hl7.org/implement/standards/product_brief.cfm?product_id=185", version: "2.5.1",
		properties: []string{"host", "port"}, phrase: "an HL7 v2 feed"},
	{id: "dicomweb", name: "DICOMweb", uri: "https://www.dicomstandard.org/using/dicomweb", version: "2024b",
		properties: []string{"url"}, phrase: "a DICOMweb archive"},
	{id: "oidc", name: "OpenID Connect", uri: "https://openid.net/specs/openid-connect-core-1_0.html", version: "1.0",
		properties: []string{"issuer", "client_id", "client_secret"}, phrase: "an OpenID Connect provider for single sign-on"},
	{id: "saml2", name: "SAML 2.0", uri: "http://docs.oasis-open.org/security/saml/v2.0/", version: "2.0",
		properties: []string{"metadata_url", "entity_id"}, phrase: "a SAML 2.0 identity provider"},
	{id: "scim2", name: "SCIM 2.0", uri: "https://datatracker.ietf.org/doc/html/rfc7644", version: "2.0",
		properties: []string{"url", "token"}, phrase: "a SCIM 2 provisioning endpoint"},
	{id: "ldap", name: "LDAP v3", uri: "https://datatracker.ietf.org/doc/html/rfc4511", version: "3",
		properties: []string{"url", "bind_dn", "bind_password", "base_dn"}, phrase: "an LDAP directory"},
	{id: "active-directory", name: "Microsoft Active Directory", uri: "https://learn.microsoft.com/windows-server/identity/ad-ds/", version: "2016",
		properties: []string{"url", "bind_dn", "bind_password", "base_dn"}, substitutesFor: []string{"ldap"},
		phrase: "an Active Directory domain"},
	{id: "postgresql", name: "PostgreSQL", uri: "https://www.postgresql.org/docs/current/protocol.html", version: "16",
		properties: []string{"url", "host", "port", "database", "username", "password"}, phrase: "a PostgreSQL database"},
	{id: "smtp", name: "SMTP", uri: "https://datatracker.ietf.org/doc/html/rfc5321", version: "",
		properties: []string{"url", "host", "port", "username", "password", "from"}, phrase: "an SMTP relay for notifications"},
	{id: "redis", name: "Redis", uri: "https://redis.io/docs/latest/develop/reference/protocol-spec/", version: "7",
		properties: []string{"url"}, phrase: "a Redis cache"},
}

func interfaceByID(id string) *iface {
	for i := range interfaces {
		if interfaces[i].id == id {
			return &interfaces[i]
		}
	}
	panic("synthetic: unknown interface " + id)
}

// param is one environment parameter of a build.
type param struct {
	name, desc string
	def        string
	hasDefault bool
	pattern    string
	required   bool
	secret     bool
}

// binding is a parameter filled from a property of a dependency's provider.
type binding struct {
	param    param
	property string
}

// bindings lists, per interface a build can depend on, the parameters it binds.
var bindings = map[string][]binding{
	"postgresql": {
		{param{name: "DATABASE_URL", desc: "PostgreSQL connection URL (postgres://user:password@host:5432/db)", required: true, secret: true}, "url"},
	},
	"oidc": {
		{param{name: "OIDC_ISSUER", desc: "OpenID Connect issuer URL", required: true, pattern: `^https://\S+$`}, "issuer"},
		{param{name: "OIDC_CLIENT_ID", desc: "OAuth 2.0 client ID registered for this service", required: true}, "client_id"},
		{param{name: "OIDC_CLIENT_SECRET", desc: "OAuth 2.0 client secret", required: true, secret: true}, "client_secret"},
	},
	"smtp": {
		{param{name: "SMTP_URL", desc: "SMTP relay URL (smtp://user:password@host:587)", required: true, secret: true}, "url"},
	},
	"redis": {
		{param{name: "REDIS_URL", desc: "Redis URL for the session and response cache; caching is off when unset", def: "", hasDefault: true}, "url"},
	},
	"hl7-fhir-r4": {
		{param{name: "FHIR_BASE_URL", desc: "Base URL of the FHIR R4 server holding the patient record", required: true, pattern: `^https?://\S+$`}, "url"},
	},
	"fhir-terminology": {
		{param{name: "TERMINOLOGY_URL", desc: "Base URL of the FHIR terminology service used to expand value sets", required: true, pattern: `^https?://\S+$`}, "url"},
	},
	"ldap": {
		{param{name: "LDAP_URL", desc: "Directory URL (ldaps://host:636)", required: true, pattern: `^ldaps?://\S+$`}, "url"},
		{param{name: "LDAP_BIND_PASSWORD", desc: "Password of the service account used to search the directory", required: true, secret: true}, "bind_password"},
	},
}

// optionalDependency reports whether a dependency on the interface is written required = false.
func optionalDependency(id string) bool { return id == "redis" }

// phiParam is the parameter identity.phi_logging names.
var phiParam = param{name: "LOG_PHI", desc: "Set to true to include PHI/PII in logs", def: "false", hasDefault: true, pattern: `^(true|false)$`}

// extraParams are parameters not bound to any dependency, to fill builds up to their count.
var extraParams = []param{
	{name: "LOG_LEVEL", desc: "Log verbosity", def: "info", hasDefault: true, pattern: `^(debug|info|warn|error)$`},
	{name: "PUBLIC_BASE_URL", desc: "URL at which users reach the service", required: true, pattern: `^https?://\S+$`},
	{name: "WORKER_CONCURRENCY", desc: "Jobs each worker instance runs at once", def: "4", hasDefault: true, pattern: `^[1-9][0-9]*$`},
	{name: "SESSION_TIMEOUT_MINUTES", desc: "Idle minutes before a user session ends", def: "30", hasDefault: true, pattern: `^[1-9][0-9]*$`},
	{name: "ENCRYPTION_KEY", desc: "Base64-encoded 256-bit key encrypting data at rest", required: true, secret: true, pattern: `^[A-Za-z0-9+/]{43}=$`},
	{name: "TZ", desc: "Time zone of scheduled jobs", def: "UTC", hasDefault: true},
	{name: "METRICS_ENABLED", desc: "Serve Prometheus metrics on /metrics", def: "true", hasDefault: true, pattern: `^(true|false)$`},
	{name: "MAX_UPLOAD_MIB", desc: "Largest accepted upload in MiB", def: "64", hasDefault: true, pattern: `^[0-9]+$`},
	{name: "CORS_ALLOWED_ORIGINS", desc: "Comma-separated origins allowed to call the API from a browser", def: "", hasDefault: true},
	{name: "AUDIT_RETENTION_DAYS", desc: "Days audit events are kept", def: "2190", hasDefault: true, pattern: `^[1-9][0-9]*$`},
}

// expose is an interface an archetype provides on its web task.
type expose struct {
	iface string
	path  string
	port  int     // a TCP port of its own; 0: the HTTP port 8080, under path
	prob  float64 // probability a build exposes it; 1 for the primary interface
}

// archetype is a kind of health service: it decides names, text, interfaces and dependencies.
type archetype struct {
	kind       string   // prose, after an article: "FHIR server"
	nouns      []string // title-case product name endings
	categories []string // the first is always used
	tags       []string
	heads      []string // summary beginnings
	tails      []string // summary endings, "with …"
	intros     []string // what it does, one sentence each
	features   []string // bullet points
	exposes    []expose
	core       []string // dependencies every build has
	optional   []string // dependencies some builds add
	oidc       float64  // probability the product signs users in through OpenID Connect
}

var archetypes = []archetype{
	{
		kind:       "FHIR server",
		nouns:      []string{"FHIR Server", "FHIR Repository", "Clinical Data Repository", "FHIR Facade", "Health Data Store"},
		categories: []string{"fhir-server", "data-platform"},
		tags:       []string{"fhir", "r4", "bulk-data", "us-core", "rest", "subscriptions", "ips"},
		heads:      []string{"FHIR R4 server", "Scalable FHIR R4 repository", "FHIR facade over legacy clinical databases", "Clinical data repository speaking FHIR R4"},
		tails:      []string{"with bulk data export", "with SMART on FHIR authorization", "with US Core and IPS profiles", "with topic-based subscriptions", "with full-text search and chained queries"},
		intros: []string{
			"It stores clinical data as FHIR R4 resources and serves the full RESTful API, including history, conditional updates, transactions and chained search parameters.",
			"It turns an existing clinical database into a conformant FHIR R4 endpoint without copying the data, mapping tables to resources on the fly.",
			"It validates every write against the loaded implementation guides, so downstream SMART apps and analytics receive profile-conformant resources.",
		},
		features: []string{
			"Bulk Data Access (`$export`) at system, group and patient level, written as NDJSON",
			"US Core 6.1, IPS and mCODE profiles validated on write",
			"Topic-based subscriptions delivering notifications over REST hooks and websockets",
			"SMART on FHIR v2 scopes enforced per resource type and per compartment",
			"`_include`, `_revinclude`, chained and reverse-chained search",
			"Terminology-aware search with `:in` and `:below` modifiers",
			"Point-in-time history of every resource, with `_since` and `_at` parameters",
			"Multi-tenant partitions selected by URL prefix",
		},
		exposes:  []expose{{iface: "hl7-fhir-r4", path: "/fhir", prob: 1}},
		core:     []string{"postgresql"},
		optional: []string{"fhir-terminology", "redis"},
		oidc:     0.7,
	},
	{
		kind:       "SMART on FHIR app",
		nouns:      []string{"Patient Viewer", "Clinician Dashboard", "Medication Reconciliation", "Growth Charts", "Care Plan Editor", "Problem List"},
		categories: []string{"smart-app", "clinical-workflow"},
		tags:       []string{"smart-on-fhir", "ehr-launch", "standalone-launch", "clinician-facing", "fhir", "react"},
		heads:      []string{"SMART on FHIR app", "EHR-launched SMART app", "Clinician-facing SMART on FHIR application", "SMART app for the point of care"},
		tails:      []string{"for reviewing labs and vitals", "for medication reconciliation at discharge", "with pediatric growth charts", "for shared care planning", "for problem list cleanup"},
		intros: []string{
			"It launches from the EHR with SMART App Launch 2.0, reads the patient record over FHIR R4 and presents it in a layout designed with practising clinicians.",
			"It runs as a standalone launch for care coordinators or inside the EHR frame, keeping the user's context through the launch token.",
			"It writes back only what the clinician confirms, as FHIR resources with provenance, so the chart stays the source of truth.",
		},
		features: []string{
			"EHR launch and standalone launch with PKCE and refresh tokens",
			"Works with any FHIR R4 server that supports US Core",
			"Accessible interface meeting WCAG 2.1 AA",
			"Offline-tolerant: edits are queued and retried when the FHIR server is busy",
			"Provenance resources recorded for every write",
			"Configurable layouts per specialty",
			"Print-friendly summaries for handoffs",
		},
		exposes:  []expose{{iface: "smart-app-launch", path: "/launch", prob: 1}},
		core:     []string{"hl7-fhir-r4"},
		optional: []string{"postgresql", "redis"},
		oidc:     0.6,
	},
	{
		kind:       "CDS Hooks service",
		nouns:      []string{"CDS Service", "Decision Support", "Order Advisor", "Sepsis Alert", "Drug Interaction Checker", "Imaging Appropriateness"},
		categories: []string{"clinical-decision-support"},
		tags:       []string{"cds-hooks", "decision-support", "order-select", "patient-view", "cql", "alerts"},
		heads:      []string{"CDS Hooks service", "Clinical decision support service", "Point-of-care CDS Hooks service", "Evidence-based CDS Hooks service"},
		tails:      []string{"for drug-drug interactions", "for early sepsis detection", "for imaging appropriateness criteria", "with CQL-authored rules", "for preventive care gaps"},
		intros: []string{
			"It answers `patient-view`, `order-select` and `order-sign` hooks with cards that suggest concrete actions, not just warnings.",
			"Its rules are written in CQL and versioned with the service, so every card can be traced to the guideline that produced it.",
			"It prefetches what it needs through the hook request and falls back to FHIR queries only when the EHR omits prefetch data.",
		},
		features: []string{
			"CDS Hooks 2.0 discovery endpoint and feedback endpoint",
			"Suggestions with FHIR resources the EHR can apply in one click",
			"Rules authored in CQL 1.5 and unit-tested with synthetic patients",
			"Alert fatigue controls: snooze, override reasons and per-site thresholds",
			"Response times under 200 ms at the 95th percentile",
			"Audit trail of every card shown and every action taken",
		},
		exposes:  []expose{{iface: "cds-hooks", path: "/cds-services", prob: 1}},
		core:     []string{"hl7-fhir-r4"},
		optional: []string{"fhir-terminology", "redis"},
		oidc:     0.2,
	},
	{
		kind:       "terminology server",
		nouns:      []string{"Terminology Server", "Code System Service", "Value Set Manager", "Concept Mapper"},
		categories: []string{"terminology"},
		tags:       []string{"terminology", "snomed-ct", "loinc", "rxnorm", "icd-10", "value-sets", "concept-maps"},
		heads:      []string{"FHIR terminology server", "Terminology service", "Value set and concept map server", "Code system service"},
		tails:      []string{"for SNOMED CT, LOINC and RxNorm", "with ECL support", "with automated release loading", "with concept map translation"},
		intros: []string{
			"It implements the FHIR terminology operations `$expand`, `$validate-code`, `$lookup` and `$translate` over the code systems a health system actually uses.",
			"It loads official SNOMED CT, LOINC, RxNorm and ICD-10 releases and keeps every version side by side, so older value sets still expand as they did.",
			"It lets informaticists author value sets and concept maps in a browser and publish them to every downstream system at once.",
		},
		features: []string{
			"SNOMED CT Expression Constraint Language in value set definitions",
			"Versioned releases kept side by side with `system-version` pinning",
			"Concept map translation with equivalence and dependencies",
			"Closure tables for subsumption queries",
			"Import of CSV, FHIR packages and RF2 snapshots",
			"Caching of expansions with automatic invalidation on new releases",
		},
		exposes:  []expose{{iface: "fhir-terminology", path: "/fhir", prob: 1}},
		core:     []string{"postgresql"},
		optional: []string{"redis"},
		oidc:     0.4,
	},
	{
		kind:       "identity provider",
		nouns:      []string{"Identity Provider", "Single Sign-On", "Access Manager", "Login Gateway"},
		categories: []string{"identity", "security"},
		tags:       []string{"oidc", "saml", "sso", "mfa", "oauth2", "smart-on-fhir"},
		heads:      []string{"OpenID Connect identity provider", "Single sign-on service", "Identity and access manager", "OAuth 2.0 authorization server"},
		tails:      []string{"with SMART on FHIR scopes", "with SAML 2.0 federation", "with WebAuthn and TOTP", "with LDAP and Active Directory user stores"},
		intros: []string{
			"It signs users in once for every clinical application, issuing OpenID Connect tokens that carry SMART on FHIR launch context.",
			"It federates with existing SAML 2.0 and Active Directory identity stores, so clinicians keep the credentials they already have.",
			"It enforces multi-factor authentication for remote access and for prescribing controlled substances (EPCS).",
		},
		features: []string{
			"OpenID Connect Core 1.0 and OAuth 2.0 with PKCE",
			"SMART on FHIR launch context and scopes",
			"SAML 2.0 identity provider and service provider roles",
			"WebAuthn passkeys, TOTP and push-based second factors",
			"Break-the-glass access with mandatory justification and audit",
			"Session management across tabs with back-channel logout",
		},
		exposes:  []expose{{iface: "oidc", path: "/realms/main", prob: 1}, {iface: "saml2", path: "/saml/metadata", prob: 0.5}, {iface: "scim2", path: "/scim/v2", prob: 0.3}},
		core:     []string{"postgresql"},
		optional: []string{"ldap", "smtp"},
	},
	{
		kind:       "HL7 v2 interface engine",
		nouns:      []string{"Interface Engine", "HL7 Router", "Message Broker", "Integration Hub"},
		categories: []string{"integration"},
		tags:       []string{"hl7v2", "mllp", "adt", "orm", "oru", "integration", "fhir-mapping"},
		heads:      []string{"HL7 v2 interface engine", "Message router for HL7 v2 and FHIR", "Integration engine", "Clinical message broker"},
		tails:      []string{"with v2-to-FHIR mapping", "for ADT, ORM and ORU feeds", "with guaranteed delivery", "with a browser-based channel designer"},
		intros: []string{
			"It receives HL7 v2 messages over MLLP, acknowledges them, transforms them and routes them to every subscribing system with guaranteed delivery.",
			"It maps ADT, ORM and ORU messages to FHIR R4 resources following the HL7 v2-to-FHIR implementation guide.",
			"Its channels are plain files under version control, so interface changes go through the same review as code.",
		},
		features: []string{
			"MLLP listener with enhanced-mode acknowledgements",
			"v2-to-FHIR mapping for ADT, ORM, ORU and SIU messages",
			"Replay of any message from the persistent journal",
			"Dead-letter queue with alerting",
			"Filters and transforms written in JavaScript or XSLT",
			"Per-channel throughput and latency dashboards",
		},
		exposes:  []expose{{iface: "hl7v2-mllp", port: 2575, prob: 1}, {iface: "hl7-fhir-r4", path: "/fhir", prob: 0.4}},
		core:     []string{"postgresql"},
		optional: []string{"smtp", "redis"},
		oidc:     0.5,
	},
	{
		kind:       "imaging service",
		nouns:      []string{"DICOMweb Archive", "Image Viewer", "PACS Gateway", "Imaging Router", "Zero-Footprint Viewer"},
		categories: []string{"imaging"},
		tags:       []string{"dicom", "dicomweb", "pacs", "radiology", "imaging", "wado-rs"},
		heads:      []string{"DICOMweb image archive", "Zero-footprint DICOM viewer", "Imaging gateway", "Vendor-neutral archive"},
		tails:      []string{"with QIDO-RS, WADO-RS and STOW-RS", "for radiology and cardiology", "with on-the-fly anonymization", "with study prefetching"},
		intros: []string{
			"It stores DICOM studies and serves them through QIDO-RS, WADO-RS and STOW-RS, so any DICOMweb viewer can read them.",
			"It renders studies in the browser with no plug-in, streaming frames progressively over slow links.",
			"It routes studies between modalities, archives and AI services by rules on DICOM tags.",
		},
		features: []string{
			"QIDO-RS, WADO-RS and STOW-RS endpoints",
			"Progressive loading of large multi-frame studies",
			"De-identification profiles from DICOM PS3.15",
			"Rules-based routing on any DICOM tag",
			"Hanging protocols per modality",
			"ImagingStudy resources published to FHIR",
		},
		exposes:  []expose{{iface: "dicomweb", path: "/dicom-web", prob: 1}},
		core:     []string{"postgresql"},
		optional: []string{"hl7-fhir-r4", "redis"},
		oidc:     0.6,
	},
	{
		kind:       "scheduling service",
		nouns:      []string{"Appointment Scheduler", "Scheduling Service", "Referral Manager", "Bed Board", "Capacity Planner"},
		categories: []string{"scheduling", "clinical-workflow"},
		tags:       []string{"scheduling", "appointments", "slots", "referrals", "patient-access"},
		heads:      []string{"Appointment scheduling service", "Referral and scheduling manager", "Bed management board", "Capacity planning service"},
		tails:      []string{"with FHIR Schedule and Slot resources", "with patient self-scheduling", "with waitlists and reminders", "across multiple sites"},
		intros: []string{
			"It publishes provider availability as FHIR Schedule and Slot resources and books appointments through the standard `$book` operation.",
			"It lets patients pick a time online and sends reminders by e-mail, cutting no-shows without extra front-desk work.",
			"It tracks referrals from request to completed visit, so nothing falls between two organizations.",
		},
		features: []string{
			"FHIR Schedule, Slot and Appointment resources",
			"Patient self-scheduling with configurable rules",
			"Waitlists that offer freed slots automatically",
			"E-mail and SMS reminders",
			"Referral tracking with closed-loop status",
			"Resource calendars for rooms and equipment",
		},
		exposes:  []expose{{iface: "hl7-fhir-r4", path: "/fhir", prob: 1}},
		core:     []string{"postgresql", "smtp"},
		optional: []string{"redis"},
		oidc:     0.7,
	},
	{
		kind:       "patient engagement app",
		nouns:      []string{"Patient Portal", "Secure Messaging", "Intake Forms", "Questionnaire Service", "Remote Monitoring"},
		categories: []string{"patient-engagement"},
		tags:       []string{"patient-portal", "messaging", "questionnaires", "patient-facing", "sdc"},
		heads:      []string{"Patient portal", "Secure patient messaging service", "Digital intake forms", "Remote patient monitoring service"},
		tails:      []string{"built on FHIR Questionnaire", "with proxy access for caregivers", "in twelve languages", "with device data ingestion"},
		intros: []string{
			"It gives patients a single place to read results, message their care team and fill in forms before a visit.",
			"It renders FHIR Questionnaires with Structured Data Capture and writes the answers back as QuestionnaireResponse resources.",
			"It collects readings from home devices and flags out-of-range values for the care team.",
		},
		features: []string{
			"Structured Data Capture with adaptive questionnaires",
			"Proxy access for parents and caregivers",
			"Secure messaging with attachments",
			"Translations in twelve languages",
			"Notifications by e-mail and push",
			"Device readings stored as FHIR Observations",
		},
		exposes:  []expose{{iface: "smart-app-launch", path: "/launch", prob: 1}},
		core:     []string{"hl7-fhir-r4", "smtp"},
		optional: []string{"redis"},
		oidc:     0.8,
	},
	{
		kind:       "provisioning bridge",
		nouns:      []string{"Provisioning Bridge", "Directory Sync", "SCIM Gateway", "Account Lifecycle Manager"},
		categories: []string{"identity"},
		tags:       []string{"scim", "ldap", "provisioning", "active-directory", "user-lifecycle"},
		heads:      []string{"SCIM 2 provisioning gateway", "Directory synchronisation service", "User lifecycle manager", "LDAP to SCIM bridge"},
		tails:      []string{"for LDAP and Active Directory", "with role mapping", "with deprovisioning on termination", "with dry-run previews"},
		intros: []string{
			"It provisions users and groups from the enterprise directory into clinical applications over SCIM 2, and removes them the day they leave.",
			"It maps directory groups to application roles, so access follows the job, not the ticket queue.",
		},
		features: []string{
			"SCIM 2.0 users, groups and bulk operations",
			"Incremental LDAP synchronisation with change detection",
			"Role mapping rules from directory attributes",
			"Dry-run previews of every change",
			"Automatic deprovisioning on termination",
		},
		exposes:  []expose{{iface: "scim2", path: "/scim/v2", prob: 1}},
		core:     []string{"ldap", "postgresql"},
		optional: []string{"smtp"},
		oidc:     0.3,
	},
	{
		kind:       "analytics platform",
		nouns:      []string{"Population Health", "Quality Measures", "Registry", "Bulk Data Analytics", "Cohort Explorer"},
		categories: []string{"analytics", "population-health"},
		tags:       []string{"analytics", "quality-measures", "cql", "bulk-data", "ecqm", "registries"},
		heads:      []string{"Population health analytics", "Quality measure engine", "Clinical registry", "Cohort discovery service"},
		tails:      []string{"for eCQMs and HEDIS", "fed by FHIR Bulk Data", "with risk stratification", "with de-identified research extracts"},
		intros: []string{
			"It pulls data with FHIR Bulk Data, evaluates CQL quality measures and reports results as FHIR MeasureReport resources.",
			"It stratifies patients by risk and lists care gaps for each panel, refreshed every night.",
			"It builds cohorts from clinical criteria in a browser and exports de-identified extracts for approved studies.",
		},
		features: []string{
			"eCQM and HEDIS measures evaluated with CQL",
			"Nightly Bulk Data ingestion with incremental `_since` exports",
			"MeasureReport resources for submission",
			"Risk stratification with explainable scores",
			"De-identified extracts following the HIPAA Safe Harbor method",
			"Dashboards per practice, panel and payer",
		},
		exposes:  []expose{{iface: "hl7-fhir-r4", path: "/fhir", prob: 1}},
		core:     []string{"postgresql", "hl7-fhir-r4"},
		optional: []string{"redis"},
		oidc:     0.8,
	},
	{
		kind:       "consent and audit service",
		nouns:      []string{"Consent Manager", "Audit Repository", "Privacy Gateway", "Disclosure Tracker"},
		categories: []string{"privacy", "security"},
		tags:       []string{"consent", "audit", "atna", "privacy", "hipaa", "42-cfr-part-2"},
		heads:      []string{"Patient consent manager", "Audit record repository", "Privacy enforcement gateway", "Accounting of disclosures service"},
		tails:      []string{"with FHIR Consent", "for IHE ATNA and BALP", "with 42 CFR Part 2 segmentation", "with patient-facing consent forms"},
		intros: []string{
			"It records patient consent as FHIR Consent resources and answers whether a given disclosure is allowed, with the reason.",
			"It collects audit events from every system in IHE ATNA and FHIR AuditEvent form and keeps them tamper-evident.",
			"It sits in front of a FHIR server and redacts resources the requester may not see under the patient's consent.",
		},
		features: []string{
			"FHIR Consent with provision-level rules",
			"IHE Basic Audit Log Patterns (BALP) and ATNA syslog",
			"Tamper-evident hash chain over audit records",
			"Data segmentation for 42 CFR Part 2",
			"Accounting of disclosures reports for patients",
		},
		exposes:  []expose{{iface: "hl7-fhir-r4", path: "/fhir", prob: 1}},
		core:     []string{"postgresql"},
		optional: []string{"hl7-fhir-r4", "smtp"},
		oidc:     0.6,
	},
}

// Names and words.
var (
	publisherPrefixes = []string{"Cedar", "Meridian", "Harbor", "Summit", "Bluestem", "Northwind", "Lakeside", "Granite",
		"Juniper", "Aurora", "Beacon", "Cobalt", "Evergreen", "Keystone", "Lumen", "Orchard", "Pioneer", "Redwood",
		"Sage", "Tidewater", "Willow", "Zenith", "Apex", "Birch", "Canyon", "Prairie", "Riverbend", "Silverline",
		"Trillium", "Vantage"}
	publisherSuffixes = []string{"Health", "Health IT", "Clinical Systems", "Informatics", "Medical Software",
		"Digital Health", "Health Labs", "Care Technologies", "Interop", "Open Health"}
	productBrands = []string{"Atlas", "Compass", "Helix", "Nimbus", "Pulse", "Vector", "Quill", "Sentinel", "Relay",
		"Lattice", "Prism", "Orbit", "Cascade", "Ember", "Fathom", "Kinetic", "Mosaic", "Nova", "Onyx", "Pillar",
		"Rally", "Signal", "Tandem", "Vista", "Wren", "Bridge", "Clarity", "Anchor", "Thrive", "Latitude"}
	firstNames = []string{"ana", "ben", "chen", "dana", "emeka", "fatima", "george", "hana", "ivan", "jules", "kofi",
		"lena", "mateo", "nadia", "omar", "priya", "quinn", "rosa", "sven", "tariq", "uma", "vera", "wei", "yusuf"}
	lastNames = []string{"garcia", "nguyen", "okafor", "schmidt", "tanaka", "kowalski", "haddad", "silva", "larsen",
		"patel", "moreau", "ivanova", "mensah", "costa", "fischer", "brennan", "sato", "lindqvist", "rahman", "ortiz"}
	openLicenses = []string{"Apache-2.0", "Apache-2.0", "Apache-2.0", "MIT", "MIT", "BSD-3-Clause", "BSD-2-Clause",
		"GPL-3.0-only", "GPL-3.0-or-later", "GPL-2.0-or-later"}
	registries = []string{"ghcr.io", "ghcr.io", "quay.io", "docker.io", "registry.gitlab.com"}
	colors     = []string{"#0b6e99", "#1f883d", "#8250df", "#bf3989", "#cf222e", "#bc4c00", "#0969da", "#116329",
		"#6639ba", "#953800", "#1b7c83", "#4d2d8f"}

	adjectives = []string{"lightweight", "production-ready", "cloud-native", "horizontally scalable", "standards-based",
		"battle-tested", "modular", "compact", "opinionated", "extensible"}
	audiences = []string{"hospitals and health systems", "community clinics", "health information exchanges",
		"payers and accountable care organizations", "academic medical centers", "research networks",
		"ambulatory practices", "public health agencies"}
	testbeds = []string{"Inferno", "Touchstone", "the ONC (g)(10) test kit", "HL7 Connectathon scenarios",
		"the IHE Gazelle tools", "Crucible"}
	adopters = []string{"regional health systems", "critical access hospitals", "two national HIEs",
		"a network of federally qualified health centers", "several academic medical centers", "state Medicaid programs"}
	opsSentences = []string{
		"The image runs as an unprivileged user, writes structured logs to standard output and reads every setting from environment variables; nothing is configured by editing files inside the container.",
		"Configuration comes from environment variables only, logs go to standard output as JSON, and the container holds no state, so instances can be replaced at any time.",
		"All state lives in the backing services below; the container itself is disposable and starts in a few seconds, which keeps rolling upgrades uneventful.",
	}
	scaleSentences = []string{
		"The web task scales horizontally behind any HTTP load balancer; the worker task handles background jobs and can be scaled on its own.",
		"Add web instances for more concurrent users and worker instances for faster background processing; neither needs sticky sessions.",
		"A single web instance is enough for a pilot, and production sites typically run two or more behind a load balancer.",
	}
	closings = []string{
		"Upgrades are forward-only and database migrations run automatically on start; read the release notes of each build before upgrading across a major version.",
		"Questions and bug reports are welcome through the support address; security issues should be reported privately and are answered within two business days.",
		"A public demo with synthetic patients from Synthea is available on the homepage, together with the full administrator guide.",
		"The project follows semantic versioning: minor releases never require configuration changes, and deprecations are announced one major version ahead.",
	}
	noteFixes = []string{
		"Fixed paging of search results beyond 1,000 entries.",
		"Fixed a memory leak in the response cache under sustained load.",
		"Fixed time zone handling of appointments that cross daylight saving changes.",
		"Fixed a race when two workers claimed the same job.",
		"Fixed rejected logins when the identity provider rotated its signing keys.",
		"Fixed handling of non-ASCII patient names in exports.",
		"Fixed slow startup with large numbers of stored resources.",
	}
	noteAdds = []string{
		"Added Prometheus metrics for queue depth and request latency.",
		"Added OpenTelemetry trace propagation to outgoing requests.",
		"Added a read-only mode for maintenance windows.",
		"Added support for PostgreSQL 17.",
		"Added configurable retention for audit events.",
		"Added health details to `/healthz` for each backing service.",
		"Improved throughput of bulk operations by about 30 %.",
	}
)
