// The environment builder (builder/index.html): a person adds builds of the catalog, sees each
// dependency resolved by the rules of the Go resolver (catalog/env, see its doc.go), and
// downloads the environment file that `marketplace env` reads.
//
// This file is a port of catalog/env's resolution, held to it by a Go test that runs both over
// every example product and several multi-service environments (generator/builder_test.go):
// change the two together. It reads api/v1/builder.json (every product's versions and, of its
// newest build, what it exposes and requires) and, for each product added, that product's own
// document api/v1/products/<publisher>/<product>.json. No eval, no inline script: the page
// works under a strict Content-Security-Policy.
(function () {
  'use strict';

  // ---- SemVer, as github.com/Masterminds/semver/v3 (v3.5.0) reads versions and constraints.

  var VERSION_RE = /^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?(?:\+([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?$/;

  function parseVersion(s) {
    var m = VERSION_RE.exec(s);
    if (!m) return null;
    return { major: +m[1], minor: +(m[2] || 0), patch: +(m[3] || 0), pre: m[4] || '', original: s };
  }

  function cmpNum(a, b) { return a < b ? -1 : a > b ? 1 : 0; }

  function comparePrePart(s, o) {
    if (s === o) return 0;
    if (s === '') return -1;
    if (o === '') return 1;
    var sn = /^\d+$/.test(s), on = /^\d+$/.test(o);
    if (!sn && !on) return s > o ? 1 : -1;
    if (!on) return -1; // o is a string, s a number
    if (!sn) return 1;
    return +s > +o ? 1 : -1;
  }

  function comparePrerelease(v, o) {
    var sp = v.split('.'), op = o.split('.');
    for (var i = 0; i < Math.max(sp.length, op.length); i++) {
      var d = comparePrePart(i < sp.length ? sp[i] : '', i < op.length ? op[i] : '');
      if (d !== 0) return d;
    }
    return 0;
  }

  function compareVersions(v, o) {
    var d = cmpNum(v.major, o.major) || cmpNum(v.minor, o.minor) || cmpNum(v.patch, o.patch);
    if (d !== 0) return d;
    if (v.pre === '' && o.pre === '') return 0;
    if (v.pre === '') return 1;
    if (o.pre === '') return -1;
    return comparePrerelease(v.pre, o.pre);
  }

  var CV = 'v?([0-9|x|X|\\*]+)(\\.[0-9|x|X|\\*]+)?(\\.[0-9|x|X|\\*]+)?' +
    '(-([0-9A-Za-z\\-]+(\\.[0-9A-Za-z\\-]+)*))?' +
    '(\\+([0-9A-Za-z\\-]+(\\.[0-9A-Za-z\\-]+)*))?';
  var OPS = '=||!=|>|<|>=|=>|<=|=<|~|~>|\\^';
  var CONSTRAINT_RE = new RegExp('^\\s*(' + OPS + ')\\s*(' + CV + ')\\s*$');
  var RANGE_RE = new RegExp('\\s*(' + CV + ')\\s+-\\s+(' + CV + ')\\s*', 'g');
  var FIND_RE = new RegExp('(' + OPS + ')\\s*(' + CV + ')', 'g');
  var VALID_RE = new RegExp('^(\\s*(' + OPS + ')\\s*(' + CV + ')\\s*)((?:\\s+|,\\s*)(' + OPS + ')\\s*(' + CV + ')\\s*)*$');

  function isX(s) { return s === 'x' || s === '*' || s === 'X'; }

  function parseOne(s) {
    var m = CONSTRAINT_RE.exec(s);
    if (!m) throw new Error('improper constraint: ' + JSON.stringify(s));
    var c = { op: m[1], orig: m[2], dirty: false, minorDirty: false, patchDirty: false };
    var ver = m[2], pre = m[6] || '';
    if (isX(m[3]) || !m[3]) {
      ver = '0.0.0' + pre; c.dirty = true;
    } else if (!m[4] || isX(m[4].slice(1))) {
      ver = m[3] + '.0.0' + pre; c.dirty = c.minorDirty = true;
    } else if (!m[5] || isX(m[5].slice(1))) {
      ver = m[3] + m[4] + '.0' + pre; c.dirty = c.patchDirty = true;
    }
    c.con = parseVersion(ver);
    if (!c.con) throw new Error('constraint parser error');
    return c;
  }

  // parseConstraint returns the constraint's OR groups, or throws as semver.NewConstraint fails.
  function parseConstraint(text) {
    if (text.length > 512) throw new Error('constraint string is too long (max 512 bytes)');
    var s = text;
    var ranges = Array.from(text.matchAll(RANGE_RE));
    ranges.forEach(function (m) { s = s.replace(m[0], '>= ' + m[1] + ', <= ' + m[11] + ' '); });
    var ors = s.split('||');
    if (ors.length > 32) throw new Error('too many constraint groups (max 32)');
    return ors.map(function (part) {
      if (!VALID_RE.test(part)) throw new Error('improper constraint: ' + JSON.stringify(part));
      var found = Array.from(part.matchAll(FIND_RE), function (m) { return m[0]; });
      if (found.length === 0) found = [part];
      var cs = found.map(parseOne);
      return { cs: cs, pre: cs.some(function (c) { return c.con.pre !== ''; }) };
    });
  }

  function lessThan(v, c) { return compareVersions(v, c) < 0; }

  function cTilde(v, c) {
    if (lessThan(v, c.con)) return false;
    if (c.con.major === 0 && c.con.minor === 0 && c.con.patch === 0 && !c.minorDirty && !c.patchDirty) return true;
    if (v.major !== c.con.major) return false;
    return !(v.minor !== c.con.minor && !c.minorDirty);
  }

  var OPS_FN = {
    '': function (v, c) { return c.dirty ? cTilde(v, c) : compareVersions(v, c.con) === 0; },
    '!=': function (v, c) {
      if (c.dirty) {
        if (c.con.major !== v.major) return true;
        if (c.con.minor !== v.minor && !c.minorDirty) return true;
        if (c.minorDirty) return false;
        if (c.con.patch !== v.patch && !c.patchDirty) return true;
        if (c.patchDirty) {
          if (v.pre !== '' || c.con.pre !== '') return comparePrerelease(v.pre, c.con.pre) !== 0;
          return false;
        }
      }
      return compareVersions(v, c.con) !== 0;
    },
    '>': function (v, c) {
      if (!c.dirty) return compareVersions(v, c.con) === 1;
      if (v.major > c.con.major) return true;
      if (v.major < c.con.major) return false;
      if (c.minorDirty) return false;
      if (c.patchDirty) return v.minor > c.con.minor;
      return compareVersions(v, c.con) === 1;
    },
    '<': function (v, c) { return compareVersions(v, c.con) < 0; },
    '>=': function (v, c) { return compareVersions(v, c.con) >= 0; },
    '<=': function (v, c) {
      if (!c.dirty) return compareVersions(v, c.con) <= 0;
      if (v.major > c.con.major) return false;
      return !(v.major === c.con.major && v.minor > c.con.minor && !c.minorDirty);
    },
    '~': cTilde,
    '^': function (v, c) {
      if (lessThan(v, c.con)) return false;
      if (c.con.major > 0 || c.minorDirty) return v.major === c.con.major;
      if (c.con.major === 0 && v.major > 0) return false;
      if (c.con.minor > 0 || c.patchDirty) return v.minor === c.con.minor;
      if (c.con.minor === 0 && v.minor > 0) return false;
      return c.con.patch === v.patch;
    }
  };
  OPS_FN['='] = OPS_FN[''];
  OPS_FN['=>'] = OPS_FN['>='];
  OPS_FN['=<'] = OPS_FN['<='];
  OPS_FN['~>'] = OPS_FN['~'];

  // checkConstraint is Constraints.Check: a pre-release matches only a group that names one.
  function checkConstraint(groups, v) {
    return groups.some(function (g) {
      return g.cs.every(function (c) {
        if (v.pre !== '' && !g.pre) return false;
        return OPS_FN[c.op](v, c);
      });
    });
  }

  // ---- Names, as catalog and catalog/env spell them.

  var ID_RE = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
  var ENV_NAME_RE = /^[A-Z][A-Z0-9_]*$/;

  function dnsLabel() {
    var s = Array.prototype.join.call(arguments, '-').toLowerCase().replace(/[^a-z0-9]/g, '-');
    return s.replace(/^-+|-+$/g, '');
  }

  function envNameFor(s) {
    var out = s.toUpperCase().replace(/[^A-Z0-9]/g, '_');
    if (out === '' || out[0] < 'A' || out[0] > 'Z') out = 'X' + out;
    return out;
  }

  function slugOf(productID) { return productID.slice(productID.indexOf('/') + 1); }

  function orList(items) {
    if (items.length <= 2) return items.join(' or ');
    return items.slice(0, -1).join(', ') + ' or ' + items[items.length - 1];
  }

  function sortedKeys(o) { return Object.keys(o || {}).sort(); }

  // ---- The catalog as the builder sees it.

  // Catalog wraps api/v1/builder.json and the product documents loaded so far (docs, by ID).
  function Catalog(index) {
    this.index = index;
    this.interfaces = {};
    this.products = {};
    var self = this;
    (index.interfaces || []).forEach(function (i) { self.interfaces[i.id] = i; });
    (index.products || []).forEach(function (p) { self.products[p.id] = p; });
    this.docs = {};
  }

  // satisfies is catalog.Satisfies: the same interface, or one that substitutes for it,
  // transitively.
  Catalog.prototype.satisfies = function (have, want) {
    var seen = {}, self = this;
    function walk(id) {
      if (id === want) return true;
      if (seen[id]) return false;
      seen[id] = true;
      var i = self.interfaces[id];
      return !!(i && (i.substitutes_for || []).some(walk));
    }
    return walk(have);
  };

  // exposureFor returns the first exposure of build b that serves interface want, or null.
  Catalog.prototype.exposureFor = function (b, want) {
    var self = this;
    return (b.exposes || []).find(function (e) { return self.satisfies(e.interface, want); }) || null;
  };

  // ---- Resolution (catalog/env/resolve.go).

  function Resolver(cat, env) {
    this.cat = cat;
    this.env = env;
    this.res = { services: [], externals: [], bindings: [], missing: [], notes: [], errors: [] };
    this.candMemo = Object.create(null); // interface → candidates, made once
    this.expanding = Object.create(null); // interfaces whose candidates are being made
  }

  Resolver.prototype.error = function (kind, at, message, extra) {
    var e = { kind: kind, at: at, message: message };
    if (extra) Object.keys(extra).forEach(function (k) { e[k] = extra[k]; });
    this.res.errors.push(e);
    return e;
  };

  Resolver.prototype.service = function (name) {
    return this.res.services.find(function (s) { return s.name === name; }) || null;
  };

  Resolver.prototype.external = function (name) {
    return this.res.externals.find(function (x) { return x.name === name; }) || null;
  };

  Resolver.prototype.services = function () {
    var self = this;
    (this.env.services || []).forEach(function (spec, i) {
      var at = 'services[' + i + ']';
      var name = spec.name || slugOf(spec.product);
      var doc = self.cat.docs[spec.product];
      if (!self.cat.products[spec.product] || !doc) {
        self.error('product', at, 'no product ' + spec.product + ' in the catalog');
        return;
      }
      var b = self.pick(at, spec, doc);
      if (!b) return;
      var s = { name: name, spec: spec, product: doc, build: b, needs: [], params: {}, index: i };
      self.res.services.push(s);
      var declared = (b.parameters || []).map(function (p) { return p.name; });
      sortedKeys(spec.params).forEach(function (pname) {
        var prm = (b.parameters || []).find(function (p) { return p.name === pname; });
        if (!prm) {
          if (ENV_NAME_RE.test(pname)) {
            self.error('param', at, pname + ' is not a parameter of ' + doc.id + ' ' + b.version + ' (it has ' + (declared.join(', ') || 'none') + ')');
          }
          return;
        }
        var v = spec.params[pname];
        if (v.secret === undefined && prm.pattern && !matches(prm.pattern, v.text || '')) {
          self.error('param', at, (prm.secret ? 'the value' : JSON.stringify(v.text)) + ' of ' + pname + ' does not match the parameter\'s pattern ' + prm.pattern);
        }
      });
    });
  };

  // matches tests a parameter's pattern (RE2 syntax; the catalog's patterns are in the common
  // subset). A pattern JavaScript cannot read is not held against the value.
  function matches(pattern, value) {
    try {
      return new RegExp(pattern).test(value);
    } catch (e) {
      return true;
    }
  }

  // pick chooses the newest build matching the service's constraint, releases before
  // pre-releases. The builder keeps no lock: it always resolves as `env` does with --update.
  Resolver.prototype.pick = function (at, spec, doc) {
    var groups = null;
    if (spec.version) {
      try {
        groups = parseConstraint(spec.version);
      } catch (e) {
        this.error('version', at, 'version ' + JSON.stringify(spec.version) + ' is neither a version nor a SemVer constraint ("5.1.0", "^5", "~5.0", ">= 5.0, < 6"): ' + e.message);
        return null;
      }
    }
    var best = null, bestV = null, versions = [];
    // The document lists builds newest first; walk them oldest first so that, as in Go's
    // stable sort over the file order, the last of equal versions wins.
    doc.builds.slice().reverse().forEach(function (b) {
      versions.push(b.version);
      var v = parseVersion(b.version);
      if (!v || (groups && !checkConstraint(groups, v))) return;
      if (!best || rank(v, bestV) >= 0) { best = b; bestV = v; }
    });
    if (!best) {
      if (!groups) this.error('version', at, doc.id + ' has no build with a SemVer version');
      else this.error('version', at, 'no build of ' + doc.id + ' matches ' + JSON.stringify(spec.version) + ' (versions: ' + versions.reverse().join(', ') + ')');
    }
    return best;
  };

  function rank(a, b) {
    if ((a.pre === '') !== (b.pre === '')) return a.pre === '' ? 1 : -1;
    return compareVersions(a, b);
  }

  Resolver.prototype.externals = function () {
    var self = this;
    (this.env.externals || []).forEach(function (x, i) {
      self.res.externals.push(x);
      if (!x.interface) return;
      var at = 'externals[' + i + ']';
      var iface = self.cat.interfaces[x.interface];
      if (!iface) {
        self.error('external', at, 'unknown interface ' + JSON.stringify(x.interface) + ': interfaces are declared in the catalog\'s index.toml');
        return;
      }
      sortedKeys(x.properties).forEach(function (p) {
        if (iface.name && (iface.properties || []).indexOf(p) < 0) {
          self.error('external', at, JSON.stringify(p) + ' is not a property of interface ' + iface.id + ' (it has ' + ((iface.properties || []).join(', ') || 'none') + ')');
        }
      });
    });
  };

  function hasDependency(b, iface) {
    return (b.dependencies || []).some(function (d) { return d.interface === iface; });
  }

  function exposedList(b) {
    return (b.exposes || []).map(function (e) { return e.interface; }).join(', ') || 'nothing';
  }

  Resolver.prototype.checkBindings = function () {
    var self = this, cat = this.cat;
    (this.env.bindings || []).forEach(function (bd, i) {
      var at = 'bindings[' + i + ']';
      var s = self.service(bd.service);
      if (!s || !bd.interface) return;
      if (!hasDependency(s.build, bd.interface)) {
        self.error('binding', at, s.name + ' (' + s.product.id + ' ' + s.build.version + ') has no dependency on ' + bd.interface);
        return;
      }
      if (!bd.provider) return;
      var p = self.service(bd.provider), x;
      if (p) {
        if (p === s) self.error('binding', at, s.name + ' cannot provide its own ' + bd.interface + ' dependency');
        else if (!cat.exposureFor(p.build, bd.interface)) self.error('binding', at, p.name + ' (' + p.product.id + ' ' + p.build.version + ') does not provide ' + bd.interface + ': it exposes ' + exposedList(p.build));
      } else if ((x = self.external(bd.provider)) && x.interface && !cat.satisfies(x.interface, bd.interface)) {
        self.error('binding', at, 'external ' + x.name + ' provides ' + x.interface + ', not ' + bd.interface);
      }
    });
  };

  function providerName(bound) {
    if (bound.provider) return bound.provider.name;
    if (bound.external) return bound.external.name;
    return '';
  }

  Resolver.prototype.providers = function () {
    var self = this, cat = this.cat, res = this.res;
    res.services.forEach(function (s) {
      (s.build.dependencies || []).forEach(function (d) {
        var bound = { consumer: s, dependency: d, interface: d.interface, provider: null, external: null, exposure: null, state: 'unmet' };
        s.needs.push(bound);
        var explicit = (self.env.bindings || []).find(function (b) { return b.service === s.name && b.interface === d.interface; });
        if (explicit) {
          bound.explicit = true;
          var p = self.service(explicit.provider), x;
          if (p && p !== s) {
            var e = cat.exposureFor(p.build, d.interface);
            if (e) { bound.provider = p; bound.exposure = e; bound.interface = e.interface; }
          } else if (!p && (x = self.external(explicit.provider)) && cat.satisfies(x.interface, d.interface)) {
            bound.external = x; bound.interface = x.interface;
          }
          if (providerName(bound)) { bound.state = 'bound'; res.bindings.push(bound); }
          else bound.state = 'invalid';
          return;
        }
        var names = [], describe = [];
        res.services.forEach(function (p) {
          if (p === s) return;
          var e = cat.exposureFor(p.build, d.interface);
          if (!e) return;
          if (!providerName(bound)) { bound.provider = p; bound.exposure = e; bound.interface = e.interface; }
          names.push(p.name);
          describe.push(JSON.stringify(p.name) + ' (' + p.product.id + ' ' + p.build.version + ', ' + e.interface + ')');
        });
        res.externals.forEach(function (x) {
          if (!x.interface || !cat.satisfies(x.interface, d.interface)) return;
          if (!providerName(bound)) { bound.external = x; bound.interface = x.interface; }
          names.push(x.name);
          describe.push(JSON.stringify(x.name) + ' (external, ' + x.interface + ')');
        });
        if (names.length > 1) {
          bound.provider = bound.exposure = bound.external = null;
          bound.interface = d.interface;
          bound.state = 'ambiguous';
          bound.choices = names;
          self.error('ambiguous', 'services[' + s.index + ']', 'ambiguous relation: ' + s.name + '\'s ' + d.interface + ' dependency could be provided by ' + orList(describe) +
            '; choose one with [[bindings]] service = ' + JSON.stringify(s.name) + ', interface = ' + JSON.stringify(d.interface) + ', provider = ' + JSON.stringify(names[0]),
            { service: s.name, interface: d.interface, choices: names });
        } else if (names.length === 1) {
          bound.state = 'bound';
          res.bindings.push(bound);
        } else if (d.required) {
          var m = { consumer: s, dependency: d, interface: d.interface, candidates: self.candidates(d.interface) };
          bound.state = 'missing';
          bound.missing = m;
          res.missing.push(m);
          self.error('missing', 'services[' + s.index + ']', s.name + ' needs ' + d.interface + ' and nothing in the environment provides it: ' + self.remedy(d.interface, m.candidates),
            { service: s.name, interface: d.interface });
        } else {
          bound.state = 'optional';
          var keys = sortedKeys(d.bind), keeps = '';
          if (keys.length === 1) keeps = '; ' + keys[0] + ' keeps its value';
          else if (keys.length > 1) keeps = '; ' + keys.join(', ') + ' keep their values';
          res.notes.push(s.name + ': optional dependency ' + d.interface + ' is not bound' + keeps);
        }
      });
    });
  };

  // candidates lists the catalog's products whose newest build exposes id (or a substitute),
  // each with its required dependencies and their own candidates. Lists are made once per
  // interface and shared; an interface already being expanded on the way here is left out of
  // the needs, so cycles end.
  Resolver.prototype.candidates = function (id) {
    if (id in this.candMemo) return this.candMemo[id];
    this.expanding[id] = true;
    var self = this, cat = this.cat, out = [];
    (cat.index.products || []).forEach(function (p) {
      if (!p.versions || p.versions.length === 0) return;
      var e = (p.exposes || []).find(function (x) { return cat.satisfies(x, id); });
      if (!e) return;
      var c = { product: p.id, name: p.name, version: p.versions[0], interface: e, needs: [] };
      (p.requires || []).forEach(function (req) {
        var n = { interface: req, provided: self.providedBy(req), candidates: [] };
        if (!n.provided) {
          if (self.expanding[req]) return; // listed higher in the tree
          n.candidates = self.candidates(req);
        }
        c.needs.push(n);
      });
      out.push(c);
    });
    delete this.expanding[id];
    this.candMemo[id] = out;
    return out;
  };

  Resolver.prototype.providedBy = function (id) {
    var cat = this.cat;
    var s = this.res.services.find(function (s) { return cat.exposureFor(s.build, id); });
    if (s) return s.name;
    var x = this.res.externals.find(function (x) { return x.interface && cat.satisfies(x.interface, id); });
    return x ? x.name : '';
  };

  function describeCandidate(c) {
    var out = c.product + ' (' + c.version + ' exposes ' + c.interface, needs = [];
    var seen = new Set([c]); // candidate lists are shared: describe each candidate's needs once
    (function walk(ns) {
      ns.forEach(function (n) {
        if (n.provided) needs.push(n.interface + ' from ' + n.provided);
        else if (n.candidates.length === 0) needs.push(n.interface + ' from an external');
        else {
          needs.push(n.interface + ' from ' + n.candidates.map(function (c) { return c.product; }).join(' or '));
          n.candidates.forEach(function (c) {
            if (!seen.has(c)) {
              seen.add(c);
              walk(c.needs);
            }
          });
        }
      });
    })(c.needs);
    if (needs.length) out += '; needs ' + needs.join(', ');
    return out + ')';
  }

  Resolver.prototype.remedy = function (id, cands) {
    var ext = 'declare an [[externals]] entry with interface = ' + JSON.stringify(id);
    if (cands.length === 0) return 'no product of the catalog provides it; ' + ext;
    return 'add a service of ' + orList(cands.map(describeCandidate)) + ' (marketplace env add FILE PRODUCT --with-deps), or ' + ext;
  };

  // cycles reports dependency cycles and returns the services providers first.
  Resolver.prototype.cycles = function () {
    var self = this, state = new Map(), order = [], stack = [], reported = new Set();
    function visit(s) {
      state.set(s, 1);
      stack.push(s);
      s.needs.forEach(function (b) {
        var p = b.provider;
        if (!p) return;
        if (!state.has(p)) visit(p);
        else if (state.get(p) === 1) {
          var names = stack.slice(stack.indexOf(p)).map(function (c) { return c.name; }).concat([p.name]);
          if (!reported.has(p)) {
            reported.add(p);
            self.error('cycle', 'services[' + p.index + ']', 'dependency cycle: ' + names.join(' → ') + '; a provider must not need, directly or through others, the service it provides for (bind one of these dependencies to an external instead)',
              { cycle: names });
          }
        }
      });
      stack.pop();
      state.set(s, 2);
      order.push(s);
    }
    this.res.services.forEach(function (s) { if (!state.has(s)) visit(s); });
    return order;
  };

  function builtins(p, e) {
    var host = dnsLabel(p.name, e.task), port = String(e.port), path = e.path || '';
    var m = { host: host, port: port, path: path };
    var task = (p.build.tasks || []).find(function (t) { return t.name === e.task; });
    (task ? task.ports || [] : []).forEach(function (pt) {
      if (pt.port === e.port && pt.protocol === 'http') m.url = 'http://' + host + ':' + port + path;
    });
    return m;
  }

  // property returns the value of a provider's property, { value, secret }: the text with
  // secrets shown as ${KEY}, and whether it holds a secret; or throws why there is none.
  Resolver.prototype.property = function (bd, prop) {
    var x = bd.external;
    if (x) {
      var v = (x.properties || {})[prop];
      if (v === undefined) throw new Error('external ' + x.name + ' does not set it; add it to its properties');
      return v.secret !== undefined ? { value: '${' + v.secret + '}', secret: true } : { value: v.text, secret: false };
    }
    var p = bd.provider, e = bd.exposure, bi = builtins(p, e);
    var tmpl = (e.properties || {})[prop];
    if (tmpl !== undefined) {
      var secret = false;
      var value = tmpl.replace(/\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, function (all, name) {
        if (name === undefined) return '$';
        if (Object.prototype.hasOwnProperty.call(bi, name) && !ENV_NAME_RE.test(name)) return bi[name];
        if (!p.params || !Object.prototype.hasOwnProperty.call(p.params, name)) throw new Error('its template names ${' + name + '}, which has no value yet');
        secret = secret || p.params[name].secret;
        return p.params[name].value;
      });
      return { value: value, secret: secret };
    }
    if (Object.prototype.hasOwnProperty.call(bi, prop)) return { value: bi[prop], secret: false };
    throw new Error(p.product.id + ' ' + p.build.version + ' does not say how to reach it (its exposure of ' + e.interface + ' has no properties.' + prop + '; the platform supplies only ' + sortedKeys(bi).join(', ') + ')');
  };

  // values gives every parameter of s its value (as text, secrets as ${KEY}) and its source.
  Resolver.prototype.values = function (s) {
    var self = this, b = s.build, at = 'services[' + s.index + ']';
    var boundBy = {}, unmet = {};
    s.needs.forEach(function (bd) {
      Object.keys(bd.dependency.bind || {}).forEach(function (param) {
        if (providerName(bd)) boundBy[param] = bd; else unmet[param] = true;
      });
    });
    var params = {};
    (b.parameters || []).forEach(function (prm) {
      var p = { name: prm.name, source: 'unset', value: '', secret: false };
      var v = (s.spec.params || {})[prm.name];
      var hasDefault = Object.prototype.hasOwnProperty.call(prm, 'default');
      if (v && v.secret !== undefined) {
        p.value = '${' + v.secret + '}'; p.source = 'set'; p.secret = true;
      } else if (v) {
        p.value = v.text; p.source = 'set';
      } else if (boundBy[prm.name]) {
        var bd = boundBy[prm.name], prop = bd.dependency.bind[prm.name];
        try {
          var pv = self.property(bd, prop);
          p.value = pv.value;
          p.secret = pv.secret;
          p.source = 'bound';
          p.from = providerName(bd);
          if (!p.secret && prm.pattern && !matches(prm.pattern, p.value)) {
            self.error('param', at, prm.name + ': ' + (prm.secret ? 'the bound value' : JSON.stringify(p.value)) + ' from ' + providerName(bd) + ' does not match the parameter\'s pattern ' + prm.pattern);
          }
        } catch (err) {
          self.error('property', at, s.name + '\'s ' + bd.dependency.interface + ' dependency binds ' + prm.name + ' to property ' + JSON.stringify(prop) + ' of ' + providerName(bd) + ': ' + err.message);
        }
      } else if (hasDefault && (prm.default !== '' || !prm.required)) {
        p.value = prm.default; p.source = 'default';
      } else if (prm.required && prm.secret) {
        p.value = '${' + envNameFor(s.name) + '_' + prm.name + '}'; p.source = 'generated'; p.secret = true;
      } else if (prm.required && unmet[prm.name]) {
        p.source = 'unmet';
      } else if (prm.required) {
        var how = 'set it in the service\'s params';
        if ((b.dependencies || []).some(function (d) { return d.bind && Object.prototype.hasOwnProperty.call(d.bind, prm.name); })) {
          how = 'set it in the service\'s params, or provide the dependency that binds it';
        }
        p.source = 'missing';
        self.error('param', at, s.name + ': required parameter ' + prm.name + ' of ' + s.product.id + ' ' + b.version + ' has no value; ' + how, { service: s.name, param: prm.name });
      }
      params[prm.name] = p;
    });
    s.params = params;
  };

  // resolve resolves env against cat. env is what an environment file says: { name, platform,
  // namespace, services: [{ name, product, version, params }], externals: [{ name, interface,
  // properties }], bindings: [{ service, interface, provider }] }, where params and properties
  // map names to { text } or { secret }. The product documents of every service must be in
  // cat.docs. The result is the services with their builds, needs and parameters, the
  // bindings, the missing dependencies with the catalog's candidates, notes, and errors by kind.
  function resolve(cat, env) {
    var r = new Resolver(cat, env);
    r.services();
    r.externals();
    r.checkBindings();
    r.providers();
    r.cycles().forEach(function (s) { r.values(s); });
    return r.res;
  }

  // The kinds of error worded exactly as catalog/env words them (the Go test compares them).
  var SAME_WORDS = { ambiguous: true, missing: true, cycle: true, binding: true, property: true };

  // summarize reduces a result to plain data, the form the Go test compares.
  function summarize(res) {
    function cand(c) {
      return { product: c.product, version: c.version, interface: c.interface, needs: c.needs.map(function (n) {
        return { interface: n.interface, provided: n.provided, candidates: n.candidates.map(cand) };
      }) };
    }
    return {
      services: res.services.map(function (s) { return { name: s.name, product: s.product.id, version: s.build.version }; }),
      bindings: res.bindings.map(function (b) { return { consumer: b.consumer.name, interface: b.dependency.interface, provider: providerName(b) }; }),
      missing: res.missing.map(function (m) { return { consumer: m.consumer.name, interface: m.interface, candidates: m.candidates.map(cand) }; }),
      notes: res.notes.slice(),
      errors: res.errors.map(function (e) { return e.kind; }).sort(),
      messages: res.errors.filter(function (e) { return SAME_WORDS[e.kind]; }).map(function (e) { return e.message; }).sort()
    };
  }

  // ---- The environment file.

  function tomlString(s) {
    return '"' + String(s).replace(/[\\"\u0000-\u001f\u007f]/g, function (c) {
      switch (c) {
        case '\\': return '\\\\';
        case '"': return '\\"';
        case '\n': return '\\n';
        case '\t': return '\\t';
        case '\r': return '\\r';
      }
      return '\\u' + ('000' + c.charCodeAt(0).toString(16)).slice(-4);
    }) + '"';
  }

  function tomlKey(k) { return /^[A-Za-z0-9_-]+$/.test(k) ? k : tomlString(k); }

  function tomlValue(v) {
    return v.secret !== undefined ? '{ secret = ' + tomlString(v.secret) + ' }' : tomlString(v.text);
  }

  function tomlTable(m) {
    var keys = sortedKeys(m);
    if (keys.length === 0) return null;
    return '{ ' + keys.map(function (k) { return tomlKey(k) + ' = ' + tomlValue(m[k]); }).join(', ') + ' }';
  }

  // toTOML writes env as an environment file.
  function toTOML(env) {
    var out = ['# Environment file for `marketplace env` (written by the marketplace\'s environment builder).',
      '#   marketplace env deps ' + (env.name || 'environment') + '.toml', ''];
    if (env.name) out.push('name = ' + tomlString(env.name));
    out.push('platform = ' + tomlString(env.platform || 'kubernetes'));
    if (env.namespace) out.push('namespace = ' + tomlString(env.namespace));
    (env.services || []).forEach(function (s) {
      out.push('', '[[services]]', 'name = ' + tomlString(s.name || slugOf(s.product)), 'product = ' + tomlString(s.product));
      if (s.version) out.push('version = ' + tomlString(s.version));
      var t = tomlTable(s.params);
      if (t) out.push('params = ' + t);
    });
    (env.externals || []).forEach(function (x) {
      out.push('', '[[externals]]', 'name = ' + tomlString(x.name), 'interface = ' + tomlString(x.interface));
      var t = tomlTable(x.properties);
      if (t) out.push('properties = ' + t);
    });
    (env.bindings || []).forEach(function (b) {
      out.push('', '[[bindings]]', 'service = ' + tomlString(b.service), 'interface = ' + tomlString(b.interface), 'provider = ' + tomlString(b.provider));
    });
    return out.join('\n') + '\n';
  }

  // ---- Adding services, as `marketplace env add` does (catalog/env/edit.go).

  // caretOf returns "^MAJOR" of a version ("^0.MINOR" below 1), or the version itself.
  function caretOf(version) {
    var v = parseVersion(version);
    if (!v) return version;
    return v.major === 0 ? '^0.' + v.minor : '^' + v.major;
  }

  function instanceName(s) { return s.name || slugOf(s.product); }

  function freeName(env, productID) {
    var slug = slugOf(productID), name = slug;
    function taken(n) {
      return (env.services || []).some(function (s) { return instanceName(s) === n; }) ||
        (env.externals || []).some(function (x) { return x.name === n; });
    }
    for (var i = 2; taken(name); i++) name = slug + '-' + i;
    return name;
  }

  // checkAddition returns the version `env add` records for product at version ("" for the
  // newest release: "^MAJOR" of it), or throws why the product or version cannot be added.
  function checkAddition(cat, product, version) {
    var p = cat.products[product];
    if (!p) throw new Error('no product ' + product + ' in the catalog');
    if (!version) return p.versions.length ? caretOf(p.versions[0]) : '';
    var groups;
    try {
      groups = parseConstraint(version);
    } catch (e) {
      throw new Error('version ' + JSON.stringify(version) + ' is neither a version nor a SemVer constraint ("5.1.0", "^5", "~5.0", ">= 5.0, < 6"): ' + e.message);
    }
    if (!p.versions.some(function (s) { var v = parseVersion(s); return v && checkConstraint(groups, v); })) {
      throw new Error('no build of ' + product + ' matches ' + JSON.stringify(version) + ' (versions: ' + p.versions.join(', ') + ')');
    }
    return version;
  }

  // nextDependency is one round of `env add --with-deps`: the first required dependency of env
  // nothing provides and exactly one catalog product could (returned as the service to add),
  // after noting in notes the ones no product or several products could provide.
  function nextDependency(cat, env, noted, notes) {
    var res = resolve(cat, env);
    for (var i = 0; i < res.missing.length; i++) {
      var m = res.missing[i], id = m.dependency.interface;
      if (noted[id]) continue;
      if (m.candidates.length === 1) {
        var c = m.candidates[0];
        return { name: freeName(env, c.product), product: c.product, version: caretOf(c.version), params: {} };
      }
      if (m.candidates.length === 0) {
        notes.push(m.consumer.name + ' needs ' + id + ', which no product of the catalog provides: declare it as an [[externals]] entry');
      } else {
        notes.push(m.consumer.name + ' needs ' + id + ', which ' + m.candidates.map(function (c) { return c.product; }).join(' and ') +
          ' provide: add one (marketplace env add FILE PRODUCT --with-deps) or declare an [[externals]] entry');
      }
      noted[id] = true;
    }
    return null;
  }

  // anotherInstance notes the services of env that already run product: adding it makes
  // another instance.
  function anotherInstance(env, product) {
    return (env.services || []).filter(function (s) { return s.product === product; }).map(function (s) {
      return product + ' is already in the environment as ' + instanceName(s) + '; this adds another instance';
    });
  }

  // additions returns what `marketplace env add` would append to env, without changing env:
  // { services, notes }. The documents of every product it may reach must be in cat.docs (the
  // page loads them one by one instead; see addService).
  function additions(cat, env, product, version, withDeps) {
    var work = { services: (env.services || []).slice(), externals: env.externals || [], bindings: env.bindings || [] };
    var added = [], noted = {};
    var recorded = checkAddition(cat, product, version);
    var notes = anotherInstance(env, product);
    var s = { name: freeName(work, product), product: product, version: recorded, params: {} };
    work.services.push(s);
    added.push(s);
    for (var round = 0; withDeps && round < 100; round++) {
      var next = nextDependency(cat, work, noted, notes);
      if (!next) break;
      work.services.push(next);
      added.push(next);
    }
    return { services: added, notes: notes };
  }

  var api = {
    parseVersion: parseVersion, compareVersions: compareVersions, parseConstraint: parseConstraint,
    checkConstraint: checkConstraint, Catalog: Catalog, resolve: resolve, summarize: summarize,
    toTOML: toTOML, describeCandidate: describeCandidate, additions: additions, caretOf: caretOf
  };
  window.HSPBuilder = api;

  // ---- The page.

  var root = document.getElementById('builder');
  if (!root) return;
  api.ui = startUI(root);

  function startUI(root) {
    var base = root.getAttribute('data-root') || '';
    var cat = null;
    var env = { name: 'environment', platform: 'kubernetes', namespace: '', services: [], externals: [], bindings: [] };
    var result = null;
    var $ = function (id) { return document.getElementById(id); };
    var status = $('builder-status');
    var ready;

    function el(tag, attrs, children) {
      var e = document.createElement(tag);
      Object.keys(attrs || {}).forEach(function (k) {
        if (k === 'text') e.textContent = attrs[k];
        else if (k === 'class') e.className = attrs[k];
        else e.setAttribute(k, attrs[k]);
      });
      (children || []).forEach(function (c) { if (c) e.appendChild(typeof c === 'string' ? document.createTextNode(c) : c); });
      return e;
    }

    function getJSON(url) {
      return fetch(url, { credentials: 'same-origin' }).then(function (r) {
        if (!r.ok) throw new Error(url + ': HTTP ' + r.status);
        return r.json();
      });
    }

    function loadProduct(id) {
      if (cat.docs[id]) return Promise.resolve(cat.docs[id]);
      return getJSON(base + 'api/v1/products/' + id + '.json').then(function (doc) {
        cat.docs[id] = doc;
        return doc;
      });
    }

    // addService adds a build of product id; version is a version or constraint, "" for the
    // newest release.
    // addService adds a build of product id as `marketplace env add` does: version is a version
    // or constraint, "" for "^MAJOR" of the newest release; withDeps adds, transitively, the one
    // product that can provide each unmet required dependency.
    function addService(id, version, withDeps) {
      var recorded;
      try {
        recorded = checkAddition(cat, id, version);
      } catch (err) {
        return Promise.reject(err);
      }
      var notes = anotherInstance(env, id), noted = {};
      busy(1);
      function more() {
        if (!withDeps) return Promise.resolve();
        var next = nextDependency(cat, env, noted, notes);
        if (!next) return Promise.resolve();
        return loadProduct(next.product).then(function () {
          env.services.push(next);
          update();
          return more();
        });
      }
      return loadProduct(id).then(function () {
        var s = { name: freeName(env, id), product: id, version: recorded, params: {} };
        env.services.push(s);
        update();
        return more().then(function () {
          status.className = 'builder-status';
          status.textContent = notes.join(' ');
          return s;
        });
      }).then(function (s) { busy(-1); return s; }, function (err) { busy(-1); throw err; });
    }

    // busy counts additions under way; #builder's data-busy says whether any is.
    var pending = 0;
    function busy(d) {
      pending += d;
      root.setAttribute('data-busy', pending > 0 ? 'true' : 'false');
    }

    function addExternal(iface) {
      var x = { name: freeName(env, 'external/' + iface), interface: iface, properties: {} };
      env.externals.push(x);
      update();
      return x;
    }

    function removeNamed(list, name) {
      var i = list.findIndex(function (x) { return x.name === name; });
      if (i >= 0) list.splice(i, 1);
      env.bindings = env.bindings.filter(function (b) { return b.service !== name && b.provider !== name; });
    }

    // renameTo renames a service or external, and the bindings that name it.
    function renameTo(item, list, name) {
      var old = item.name;
      if (name === old) return;
      if (!ID_RE.test(name)) { fail('Name ' + JSON.stringify(name) + ' must be a DNS label: lowercase letters, digits and inner hyphens, at most 63.'); update(); return; }
      if (env.services.concat(env.externals).some(function (x) { return x.name === name; })) { fail('The name ' + name + ' is already used.'); update(); return; }
      item.name = name;
      env.bindings.forEach(function (b) {
        if (b.service === old) b.service = name;
        if (b.provider === old) b.provider = name;
      });
      status.textContent = '';
      update();
    }

    function setBinding(service, iface, provider) {
      env.bindings = env.bindings.filter(function (b) { return !(b.service === service && b.interface === iface); });
      if (provider) env.bindings.push({ service: service, interface: iface, provider: provider });
      update();
    }

    function update() {
      result = resolve(cat, env);
      render();
      save();
    }

    function render() {
      renderServices();
      renderExternals();
      renderProblems();
      var toml = toTOML(env);
      $('builder-toml').textContent = toml;
      var link = $('builder-download');
      if (link.href && link.href.indexOf('blob:') === 0) URL.revokeObjectURL(link.href);
      link.href = URL.createObjectURL(new Blob([toml], { type: 'application/toml' }));
      link.setAttribute('download', (env.name || 'environment') + '.toml');
      var errs = result.errors.length;
      $('builder-summary').textContent = env.services.length === 0 ? 'Add a service to start.' :
        errs === 0 ? 'Resolves: every required dependency has a provider.' :
          errs + (errs === 1 ? ' problem' : ' problems') + ' to solve before `marketplace env export` accepts this file.';
      root.setAttribute('data-errors', String(errs));
    }

    function candidateItem(s, need, c) {
      var add = el('button', { type: 'button', class: 'button small', 'data-add': c.product, text: 'Add ' + c.name });
      add.addEventListener('click', function () { addService(c.product, '', false).catch(fail); });
      return el('li', { class: 'candidate' }, [add, ' ', el('span', { class: 'muted', text: describeCandidate(c) })]);
    }

    function needItem(s, bd) {
      var d = bd.dependency;
      var li = el('li', { class: 'need need-' + bd.state, 'data-interface': d.interface, 'data-state': bd.state });
      var label = el('span', { class: 'need-name' }, [el('code', { text: d.interface }), d.required ? '' : ' (optional)']);
      li.appendChild(label);
      var iface = cat.interfaces[d.interface];
      switch (bd.state) {
        case 'bound': {
          var what = bd.provider ? bd.provider.name + ' (' + bd.provider.product.id + ' ' + bd.provider.build.version + ')' : bd.external.name + ' (external)';
          li.appendChild(el('span', { text: ' → ' + what + (bd.explicit ? ', chosen in [[bindings]]' : '') }));
          if (bd.explicit) {
            var undo = el('button', { type: 'button', class: 'link-button', text: 'undo choice' });
            undo.addEventListener('click', function () { setBinding(s.name, d.interface, ''); });
            li.appendChild(undo);
          }
          break;
        }
        case 'ambiguous': {
          li.appendChild(el('span', { class: 'bad', text: ' ambiguous: choose the provider ' }));
          bd.choices.forEach(function (name) {
            var b = el('button', { type: 'button', class: 'button small', 'data-provider': name, text: 'Use ' + name });
            b.addEventListener('click', function () { setBinding(s.name, d.interface, name); });
            li.appendChild(b);
          });
          break;
        }
        case 'missing': {
          li.appendChild(el('span', { class: 'bad', text: ' required, nothing provides it' + (iface && iface.name ? ' (' + iface.name + ')' : '') }));
          var ul = el('ul', { class: 'candidates' });
          bd.missing.candidates.forEach(function (c) { ul.appendChild(candidateItem(s, bd, c)); });
          var ext = el('button', { type: 'button', class: 'button small', 'data-external': d.interface, text: 'Bind an external ' + d.interface + ' service' });
          ext.addEventListener('click', function () { addExternal(d.interface); });
          ul.appendChild(el('li', { class: 'candidate' }, [ext, ' ', el('span', { class: 'muted', text: 'one the hospital already runs' })]));
          li.appendChild(ul);
          break;
        }
        case 'optional':
          li.appendChild(el('span', { class: 'muted', text: ' not bound; the service runs without it' }));
          break;
        default:
          li.appendChild(el('span', { class: 'bad', text: ' the chosen provider cannot serve it' }));
      }
      return li;
    }

    function paramRow(spec, prm, p) {
      var id = 'p-' + spec.name + '-' + prm.name;
      var v = spec.params[prm.name];
      var input = el('input', { id: id, type: 'text', 'data-param': prm.name, autocomplete: 'off',
        placeholder: prm.secret ? 'secret name, e.g. ' + envNameFor(spec.name) + '_' + prm.name : (p && p.source !== 'missing' && p.value ? p.value : '') });
      input.value = v ? (v.secret !== undefined ? v.secret : v.text) : '';
      input.addEventListener('change', function () {
        var val = input.value.trim();
        if (val === '') delete spec.params[prm.name];
        else spec.params[prm.name] = prm.secret ? { secret: envNameFor(val) } : { text: input.value };
        update();
      });
      var note = p ? { set: 'set here', bound: 'bound from ' + p.from, default: 'default', generated: 'generated secret', unmet: 'from the unmet dependency', missing: 'required: give it a value', unset: 'unset' }[p.source] : '';
      return el('div', { class: 'param-row' + (p && p.source === 'missing' ? ' param-missing' : '') }, [
        el('label', { for: id }, [el('code', { text: prm.name }), prm.secret ? ' (secret reference)' : '']),
        input,
        el('span', { class: 'muted', text: note || '' })
      ]);
    }

    function renderServices() {
      var list = $('builder-services');
      list.textContent = '';
      env.services.forEach(function (spec) {
        var s = result.services.find(function (x) { return x.spec === spec; });
        var doc = cat.docs[spec.product];
        var card = el('li', { class: 'panel builder-service', 'data-service': spec.name });
        var head = el('div', { class: 'builder-service-head' }, [
          el('h3', {}, [el('span', { text: spec.name }), ' ', el('span', { class: 'muted', text: (doc ? doc.name : spec.product) + (s ? ' ' + s.build.version : '') })])
        ]);
        var rename = el('input', { type: 'text', class: 'mono', size: '12', 'aria-label': 'Instance name of ' + spec.name, 'data-rename': spec.name });
        rename.value = spec.name;
        rename.addEventListener('change', function () { renameTo(spec, env.services, rename.value.trim()); });
        head.appendChild(el('label', { class: 'builder-version' }, ['Name ', rename]));
        var ver = el('input', { type: 'text', class: 'mono', size: '10', 'aria-label': 'Version or constraint of ' + spec.name, placeholder: 'newest', value: spec.version });
        ver.value = spec.version;
        ver.addEventListener('change', function () { spec.version = ver.value.trim(); update(); });
        var rm = el('button', { type: 'button', class: 'button small', text: 'Remove' });
        rm.addEventListener('click', function () { removeNamed(env.services, spec.name); update(); });
        head.appendChild(el('label', { class: 'builder-version' }, ['Version ', ver]));
        head.appendChild(rm);
        card.appendChild(head);
        if (s) {
          if (s.needs.length) {
            var needs = el('ul', { class: 'needs' });
            s.needs.forEach(function (bd) { needs.appendChild(needItem(s, bd)); });
            card.appendChild(el('h4', { text: 'Dependencies' }));
            card.appendChild(needs);
          }
          var shown = el('div', { class: 'params' }), more = el('div', { class: 'params' });
          (s.build.parameters || []).forEach(function (prm) {
            var p = s.params[prm.name];
            if (p && p.source === 'bound') return;
            (p && (p.source === 'missing' || p.source === 'set') ? shown : more).appendChild(paramRow(spec, prm, p));
          });
          if (shown.childNodes.length) card.appendChild(shown);
          if (more.childNodes.length) card.appendChild(el('details', {}, [el('summary', { text: 'Other parameters' }), more]));
        }
        list.appendChild(card);
      });
    }

    function renderExternals() {
      var list = $('builder-externals');
      list.textContent = '';
      env.externals.forEach(function (x) {
        var iface = cat.interfaces[x.interface] || { properties: [] };
        var card = el('li', { class: 'panel builder-external', 'data-external': x.name });
        var rm = el('button', { type: 'button', class: 'button small', text: 'Remove' });
        rm.addEventListener('click', function () { removeNamed(env.externals, x.name); update(); });
        var rename = el('input', { type: 'text', class: 'mono', size: '12', 'aria-label': 'Name of external ' + x.name, 'data-rename': x.name });
        rename.value = x.name;
        rename.addEventListener('change', function () { renameTo(x, env.externals, rename.value.trim()); });
        card.appendChild(el('div', { class: 'builder-service-head' }, [
          el('h3', {}, [el('span', { text: x.name }), ' ', el('span', { class: 'muted', text: 'external ' + (iface.name || x.interface) })]),
          el('label', { class: 'builder-version' }, ['Name ', rename]), rm]));
        var used = {};
        result.bindings.forEach(function (b) {
          if (b.external !== x) return;
          Object.keys(b.dependency.bind || {}).forEach(function (param) {
            var prop = b.dependency.bind[param];
            (used[prop] = used[prop] || []).push(b.consumer.name + ' ' + param);
          });
        });
        (iface.properties || []).forEach(function (prop) {
          var id = 'x-' + x.name + '-' + prop, v = x.properties[prop];
          var input = el('input', { id: id, type: 'text', 'data-property': prop, autocomplete: 'off' });
          input.value = v ? (v.secret !== undefined ? v.secret : v.text) : '';
          var secret = el('input', { type: 'checkbox', 'data-secret': prop, 'aria-label': prop + ' is a secret reference' });
          x.secretProps = x.secretProps || {};
          if (!Object.prototype.hasOwnProperty.call(x.secretProps, prop)) {
            x.secretProps[prop] = v ? v.secret !== undefined : /secret|password|token/.test(prop);
          }
          secret.checked = x.secretProps[prop];
          function save() {
            x.secretProps[prop] = secret.checked;
            var val = input.value.trim();
            if (val === '') delete x.properties[prop];
            else x.properties[prop] = secret.checked ? { secret: envNameFor(val) } : { text: input.value };
            update();
          }
          input.addEventListener('change', save);
          secret.addEventListener('change', save);
          card.appendChild(el('div', { class: 'param-row' + (used[prop] && !v ? ' param-missing' : '') }, [
            el('label', { for: id }, [el('code', { text: prop }), used[prop] ? el('span', { class: 'muted', text: ' for ' + used[prop].join(', ') }) : '']), input,
            el('label', { class: 'muted' }, [secret, ' secret reference'])]));
        });
        list.appendChild(card);
      });
    }

    function renderProblems() {
      var list = $('builder-problems');
      list.textContent = '';
      result.errors.forEach(function (e) {
        list.appendChild(el('li', { 'data-kind': e.kind, text: e.message }));
      });
      result.notes.forEach(function (n) {
        list.appendChild(el('li', { class: 'note', 'data-kind': 'note', text: n }));
      });
    }

    function fail(err) {
      status.textContent = err.message;
      status.className = 'builder-status bad';
    }

    function setupForm() {
      var form = $('builder-add'), input = $('builder-product'), version = $('builder-add-version');
      var options = $('builder-product-list');
      cat.index.products.forEach(function (p) {
        if (p.versions.length) options.appendChild(el('option', { value: p.id, label: p.name }));
      });
      form.addEventListener('submit', function (ev) {
        ev.preventDefault();
        var id = input.value.trim();
        var match = cat.products[id] || cat.index.products.find(function (p) { return p.name.toLowerCase() === id.toLowerCase(); });
        if (!match) { fail('No product ' + JSON.stringify(id) + ' in the catalog: pick one from the list.'); return; }
        status.textContent = '';
        addService(match.id, version.value.trim(), $('builder-with-deps').checked).then(function () { input.value = ''; version.value = ''; }).catch(fail);
      });
      [['builder-name', 'name'], ['builder-platform', 'platform'], ['builder-namespace', 'namespace']].forEach(function (f) {
        var e = $(f[0]);
        e.value = env[f[1]];
        e.addEventListener('change', function () { env[f[1]] = e.value.trim(); update(); });
      });
    }

    // The environment is kept in the browser's localStorage, so that "Add to an environment"
    // on several product pages builds one environment. It holds no secret: only references.
    var STORE = 'hsp-marketplace-environment';

    function save() {
      try {
        localStorage.setItem(STORE, JSON.stringify({ version: 1, env: env }));
      } catch (e) { /* storage off or full: the page still works */ }
    }

    function restore() {
      var saved;
      try {
        saved = JSON.parse(localStorage.getItem(STORE) || 'null');
      } catch (e) {
        saved = null;
      }
      if (!saved || saved.version !== 1 || !saved.env || !Array.isArray(saved.env.services)) return Promise.resolve();
      var e = saved.env, dropped = [];
      ['name', 'platform', 'namespace'].forEach(function (k) { if (typeof e[k] === 'string') env[k] = e[k]; });
      var services = e.services.filter(function (s) {
        var ok = s && typeof s.product === 'string' && cat.products[s.product] && typeof s.name === 'string';
        if (!ok && s && s.product) dropped.push(s.product);
        return ok;
      });
      return Promise.all(services.map(function (s) { return loadProduct(s.product); })).then(function () {
        services.forEach(function (s) { env.services.push({ name: s.name, product: s.product, version: String(s.version || ''), params: s.params || {} }); });
        (Array.isArray(e.externals) ? e.externals : []).forEach(function (x) {
          if (x && typeof x.name === 'string' && typeof x.interface === 'string') env.externals.push({ name: x.name, interface: x.interface, properties: x.properties || {}, secretProps: x.secretProps || {} });
        });
        (Array.isArray(e.bindings) ? e.bindings : []).forEach(function (b) {
          if (b && typeof b.service === 'string') env.bindings.push({ service: b.service, interface: String(b.interface || ''), provider: String(b.provider || '') });
        });
        if (dropped.length) fail('No longer in the catalog, left out: ' + dropped.join(', '));
      });
    }

    function startOver() {
      env.services.length = 0;
      env.externals.length = 0;
      env.bindings.length = 0;
      env.name = 'environment';
      env.platform = 'kubernetes';
      env.namespace = '';
      [['builder-name', 'name'], ['builder-platform', 'platform'], ['builder-namespace', 'namespace']].forEach(function (f) { $(f[0]).value = env[f[1]]; });
      status.textContent = '';
      update();
    }

    ready = getJSON(base + 'api/v1/builder.json').then(function (index) {
      cat = new Catalog(index);
      api.catalog = cat;
      return restore();
    }).then(function () {
      busy(0);
      setupForm();
      $('builder-reset').addEventListener('click', startOver);
      update();
      var params = new URLSearchParams(location.search), add = params.getAll('add');
      if (add.length && history.replaceState) {
        // A reload must not add the product again.
        params.delete('add');
        var rest = params.toString();
        history.replaceState(null, '', location.pathname + (rest ? '?' + rest : '') + location.hash);
      }
      return add.reduce(function (p, id) {
        return p.then(function () { return addService(id, '', false).catch(fail); });
      }, Promise.resolve());
    }).then(function () {
      root.setAttribute('data-ready', 'true');
    }).catch(function (err) {
      fail('The builder could not load the catalog: ' + err.message);
      root.setAttribute('data-ready', 'error');
    });

    return {
      ready: ready, env: env, addService: addService, addExternal: addExternal, setBinding: setBinding,
      loadProduct: loadProduct, update: update,
      result: function () { return result; }
    };
  }
})();
