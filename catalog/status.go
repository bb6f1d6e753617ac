package catalog

// Image verification states, as outputs show them.
const (
	ImageVerified  = "verified"  // signed by one of the publisher's signers, over exactly the pinned digest
	ImageFailed    = "failed"    // checked, and the image or its signature is not as declared
	ImageUnsigned  = "unsigned"  // the image exists but carries no signature from a declared signer
	ImageUnchecked = "unchecked" // not verified in this build
)

// ImageStatus is what verification found for one image digest, as the outputs show it.
type ImageStatus struct {
	State  string `json:"state"`            // one of the Image* constants
	Signer string `json:"signer,omitempty"` // the signer that verified: a key file or an identity
	Detail string `json:"detail,omitempty"` // why it failed, in one line
}
