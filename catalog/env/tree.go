package env

// Node is one service or external in the dependency tree of `marketplace env deps`.
type Node struct {
	Service  *Resolved // the service, or nil for an external
	External *External
	// Seen is true when the node's needs were already shown higher in the tree (a provider
	// shared by several consumers, or a cycle): print it without them.
	Seen  bool
	Needs []*Edge
}

// Name returns the instance or external name.
func (n *Node) Name() string {
	if n.Service != nil {
		return n.Service.Name
	}
	return n.External.Name
}

// Edge is one dependency of a node: bound to a provider node, or unmet (Node nil; Missing set
// for a required dependency).
type Edge struct {
	Bound   *Bound
	Node    *Node
	Missing *Missing
}

// Tree returns the environment as trees of what each service needs and what provides it. The
// roots are the services nothing else in the environment depends on, in file order, followed by
// the externals nothing binds; a service that every other one reaches only through a cycle is a
// root too, so that every service appears.
func (r *Resolution) Tree() []*Node {
	provides := map[string]bool{}
	for _, b := range r.Bindings {
		provides[b.ProviderName()] = true
	}
	shown := map[string]bool{}
	var build func(s *Resolved, x *External) *Node
	build = func(s *Resolved, x *External) *Node {
		n := &Node{Service: s, External: x}
		name := n.Name()
		if shown[name] {
			n.Seen = s != nil && len(s.Needs) > 0
			return n
		}
		shown[name] = true
		if s == nil {
			return n
		}
		for _, b := range s.Needs {
			e := &Edge{Bound: b}
			switch {
			case b.Provider != nil:
				e.Node = build(b.Provider, nil)
			case b.External != nil:
				e.Node = build(nil, b.External)
			default:
				for _, m := range r.Missing {
					if m.Consumer == s && m.Dependency == b.Dependency {
						e.Missing = m
					}
				}
			}
			n.Needs = append(n.Needs, e)
		}
		return n
	}
	var roots []*Node
	for _, s := range r.Services {
		if !provides[s.Name] {
			roots = append(roots, build(s, nil))
		}
	}
	for _, s := range r.Services {
		if !shown[s.Name] {
			roots = append(roots, build(s, nil))
		}
	}
	for _, x := range r.Externals {
		if !shown[x.Name] {
			roots = append(roots, build(nil, x))
		}
	}
	return roots
}
