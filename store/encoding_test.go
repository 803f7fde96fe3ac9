package store

import (
	"bytes"
	"math"
	"sort"
	"testing"
)

func TestScoreEncodingOrder(t *testing.T) {
	scores := []float64{math.Inf(-1), -1e300, -2.5, -1, -math.SmallestNonzeroFloat64, 0,
		math.SmallestNonzeroFloat64, 1, 2.5, 1e300, math.Inf(1)}
	for i := 1; i < len(scores); i++ {
		a, b := encodeScore(scores[i-1]), encodeScore(scores[i])
		if a >= b {
			t.Fatalf("encodeScore(%v)=%x not below encodeScore(%v)=%x", scores[i-1], a, scores[i], b)
		}
	}
	for _, f := range scores {
		if got := decodeScore(encodeScore(f)); got != f {
			t.Fatalf("round trip %v -> %v", f, got)
		}
	}
	if encodeScore(math.Copysign(0, -1)) != encodeScore(0) {
		t.Fatal("-0 and +0 encode differently")
	}
}

func TestMetaRoundTrip(t *testing.T) {
	for _, m := range []Meta{
		{Type: TypeString, ExpireAt: 123, Value: []byte("hello")},
		{Type: TypeString, Value: []byte{}},
		{Type: TypeHash, Version: 7, Count: 3},
		{Type: TypeSet, ExpireAt: 1 << 40, Version: 9, Count: 1},
		{Type: TypeZSet, Version: 1, Count: 1 << 33},
		{Type: TypeList, Version: 2, Count: 2, Head: listMid - 1, Tail: listMid + 1},
	} {
		var got Meta
		if err := decodeMeta(encodeMeta(&m), &got); err != nil {
			t.Fatalf("%+v: %v", m, err)
		}
		if got.Type != m.Type || got.ExpireAt != m.ExpireAt || !bytes.Equal(got.Value, m.Value) ||
			got.Version != m.Version || got.Count != m.Count || got.Head != m.Head || got.Tail != m.Tail {
			t.Fatalf("round trip %+v -> %+v", m, got)
		}
	}
	var m Meta
	for _, bad := range [][]byte{nil, {1}, {2, 0, 0, 0, 0, 0, 0, 0, 0, 1}, {9, 0, 0, 0, 0, 0, 0, 0, 0}} {
		if err := decodeMeta(bad, &m); !IsCorruption(err) {
			t.Fatalf("decodeMeta(%x) = %v, want corruption", bad, err)
		}
	}
}

// Member keys of one user key must not interleave with another key's members, even
// when one key is a prefix of the other.
func TestMemberPrefixesDoNotOverlap(t *testing.T) {
	keys := [][]byte{
		memberKey(0, []byte("a"), 1, []byte("zzz")),
		memberKey(0, []byte("ab"), 1, []byte("a")),
		memberKey(0, []byte("a"), 2, []byte("a")),
		memberKey(1, []byte("a"), 1, []byte("a")),
	}
	p := memberPrefix(prefixMember, 0, []byte("a"), 1)
	end := prefixEnd(p)
	for i, k := range keys {
		in := bytes.Compare(k, p) >= 0 && bytes.Compare(k, end) < 0
		if in != (i == 0) {
			t.Fatalf("key %d in range of a/v1 = %v", i, in)
		}
	}
	sorted := [][]byte{listKey(0, []byte("l"), 1, listMid-1), listKey(0, []byte("l"), 1, listMid), listKey(0, []byte("l"), 1, listMid+1)}
	if !sort.SliceIsSorted(sorted, func(i, j int) bool { return bytes.Compare(sorted[i], sorted[j]) < 0 }) {
		t.Fatal("list indexes do not sort in order")
	}
}

func TestPrefixEnd(t *testing.T) {
	if got := prefixEnd([]byte{1, 2}); !bytes.Equal(got, []byte{1, 3}) {
		t.Fatalf("prefixEnd = %x", got)
	}
	if got := prefixEnd([]byte{1, 0xff}); !bytes.Equal(got, []byte{2}) {
		t.Fatalf("prefixEnd = %x", got)
	}
	if got := prefixEnd([]byte{0xff}); got != nil {
		t.Fatalf("prefixEnd = %x", got)
	}
}
