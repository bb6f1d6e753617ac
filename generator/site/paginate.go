package site

import "fmt"

// PageSize is how many entries one listing page shows: the products index, a category, a
// publisher's products, an interface's providers and consumers, and the publishers index. Page 1
// is the folder's index.html, page N its page-N.html beside it, so the links between pages stay
// relative and work on any static host and from file://. A page's size is bounded by PageSize
// whatever the size of the catalog.
const PageSize = 100

// pager is what a listing page says about its place among its folder's pages.
type pager struct {
	Number      int // this page, from 1
	Count       int // pages in all
	Total       int // entries in all
	First, Last int // the entries on this page, from 1; 0 when there are none
	Prev, Next  string
	Links       []pageLink
}

// pageLink is one entry of the page navigation: a page number, or a gap ("…") between two.
type pageLink struct {
	Number  int
	Href    string
	Current bool
	Gap     bool
}

// pageFile is the file name of page n in its folder.
func pageFile(n int) string {
	if n <= 1 {
		return "index.html"
	}
	return fmt.Sprintf("page-%d.html", n)
}

// pageCount is the number of pages total entries take; a listing always has its first page.
func pageCount(total int) int {
	return max(1, (total+PageSize-1)/PageSize)
}

// pageSpan returns the half-open range of entries page n (from 1) shows.
func pageSpan(n, total int) (lo, hi int) {
	lo = min((n-1)*PageSize, total)
	return lo, min(lo+PageSize, total)
}

// newPager describes page n of count pages over total entries (count may exceed what total
// needs when a page lists two things, such as an interface's providers and consumers).
func newPager(n, count, total int) pager {
	p := pager{Number: n, Count: count, Total: total}
	if lo, hi := pageSpan(n, total); hi > lo {
		p.First, p.Last = lo+1, hi
	}
	if n > 1 {
		p.Prev = pageFile(n - 1)
	}
	if n < count {
		p.Next = pageFile(n + 1)
	}
	// The first and last pages, and two on each side of this one: at most 7 numbers and 2 gaps
	// however many pages there are.
	last := 0
	for i := 1; i <= count; i++ {
		if i != 1 && i != count && (i < n-2 || i > n+2) {
			continue
		}
		if last != 0 && i > last+1 {
			p.Links = append(p.Links, pageLink{Gap: true})
		}
		p.Links = append(p.Links, pageLink{Number: i, Href: pageFile(i), Current: i == n})
		last = i
	}
	return p
}

// inFolder returns the path of page n in the folder of an index.html path.
func inFolder(index string, n int) string {
	return index[:len(index)-len("index.html")] + pageFile(n)
}
