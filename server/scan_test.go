package server

import "testing"

func TestGlobMatch(t *testing.T) {
	cases := []struct {
		p, s string
		want bool
	}{
		{"*", "", false}, {"**", "", false}, {"a*", "a", true}, {"a**", "a", true}, {"*", "abc", true}, {"a*", "abc", true}, {"a*c", "abc", true},
		{"a?c", "abc", true}, {"a?c", "ac", false}, {"h[ae]llo", "hello", true},
		{"h[ae]llo", "hillo", false}, {"h[^e]llo", "hallo", true}, {"h[^e]llo", "hello", false},
		{"h[a-b]llo", "hbllo", true}, {"h[a-b]llo", "hcllo", false}, {`h\*llo`, "h*llo", true},
		{`h\*llo`, "hello", false}, {"*o", "hello", true}, {"user:*:name", "user:42:name", true},
		{"", "", true}, {"", "a", false}, {"a", "", false}, {"**a", "ba", true},
	}
	for _, c := range cases {
		if got := globMatch([]byte(c.p), []byte(c.s), false); got != c.want {
			t.Errorf("globMatch(%q, %q) = %v, want %v", c.p, c.s, got, c.want)
		}
	}
}

func TestCursorTable(t *testing.T) {
	var ct cursorTable
	id := ct.saveCursor([]byte("k1"))
	if got := ct.loadCursor(id); string(got) != "k1" {
		t.Fatalf("loadCursor = %q", got)
	}
	if ct.loadCursor(0) != nil {
		t.Fatal("cursor 0 must start from the beginning")
	}
	for i := 0; i < maxCursors; i++ {
		ct.saveCursor([]byte("x"))
	}
	if ct.loadCursor(id) != nil {
		t.Fatal("evicted cursor still resolves")
	}
}
