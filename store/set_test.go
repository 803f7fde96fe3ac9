package store

import (
	"bytes"
	"errors"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"
)

// Helpers of this file are prefixed sst so they cannot clash with other type tests.

func sstJoin(ms [][]byte) string {
	ss := make([]string, len(ms))
	for i, m := range ms {
		ss[i] = string(m)
	}
	return strings.Join(ss, ",")
}

func sstSorted(ms [][]byte) string {
	ss := make([]string, len(ms))
	for i, m := range ms {
		ss[i] = string(m)
	}
	sort.Strings(ss)
	return strings.Join(ss, ",")
}

func sstAdd(t testing.TB, s *Store, key string, members ...string) int64 {
	t.Helper()
	var n int64
	runTx(t, s, func(tx *Tx) (err error) {
		n, err = tx.SAdd(0, []byte(key), bytesOf(members...))
		return err
	})
	return n
}

func sstMembers(t testing.TB, s *Store, key string) string {
	t.Helper()
	tx := s.Begin()
	defer tx.Close()
	ms, err := tx.SMembers(0, []byte(key))
	if err != nil {
		t.Fatalf("SMembers %s: %v", key, err)
	}
	return sstJoin(ms)
}

func sstCard(t testing.TB, s *Store, key string) int64 {
	t.Helper()
	tx := s.Begin()
	defer tx.Close()
	n, err := tx.SCard(0, []byte(key))
	if err != nil {
		t.Fatalf("SCard %s: %v", key, err)
	}
	return n
}

// sstRaw counts the member records stored for key in db 0, any version.
func sstRaw(t testing.TB, s *Store, key string) int {
	t.Helper()
	tx := s.Begin()
	defer tx.Close()
	p := keyPrefix(prefixMember, 0, []byte(key))
	it := tx.iter(p, prefixEnd(p))
	defer it.Close()
	n := 0
	for it.SeekFirst(); it.Valid(); it.Next() {
		n++
	}
	return n
}

func sstExists(t testing.TB, s *Store, key string) bool {
	t.Helper()
	tx := s.Begin()
	defer tx.Close()
	k, err := tx.Load(0, []byte(key))
	if err != nil {
		t.Fatal(err)
	}
	return k.Exists()
}

func TestSetAddRemCard(t *testing.T) {
	s := openSmall(t, t.TempDir())
	defer s.Close()
	if n := sstAdd(t, s, "s", "b", "a", "c", "a"); n != 3 {
		t.Fatalf("SAdd = %d, want 3", n)
	}
	if n := sstAdd(t, s, "s", "a", "d"); n != 1 {
		t.Fatalf("SAdd again = %d, want 1", n)
	}
	if got := sstMembers(t, s, "s"); got != "a,b,c,d" {
		t.Fatalf("members = %q", got)
	}
	if n := sstCard(t, s, "s"); n != 4 {
		t.Fatalf("SCard = %d", n)
	}
	// An empty member is a member like any other.
	if n := sstAdd(t, s, "s", ""); n != 1 {
		t.Fatalf("SAdd empty member = %d", n)
	}
	tx := s.Begin()
	in, err := tx.SMIsMember(0, []byte("s"), bytesOf("a", "", "zz"))
	if err != nil || fmt.Sprint(in) != "[true true false]" {
		t.Fatalf("SMIsMember = %v %v", in, err)
	}
	if ok, _ := tx.SIsMember(0, []byte("nokey"), []byte("a")); ok {
		t.Fatal("SIsMember on missing key")
	}
	// Reads inside the transaction see its own writes.
	if n, _ := tx.SAdd(0, []byte("s"), bytesOf("e")); n != 1 {
		t.Fatal("SAdd in tx")
	}
	if ok, _ := tx.SIsMember(0, []byte("s"), []byte("e")); !ok {
		t.Fatal("SIsMember does not see the tx's own write")
	}
	if ok, _ := tx.SIsMember(0, []byte("s"), []byte("")); !ok {
		t.Fatal("SIsMember on the empty member through the batch")
	}
	tx.Close() // dropped

	var rem int64
	runTx(t, s, func(tx *Tx) (err error) {
		rem, err = tx.SRem(0, []byte("s"), bytesOf("a", "a", "x", ""))
		return err
	})
	if rem != 2 || sstCard(t, s, "s") != 3 || sstMembers(t, s, "s") != "b,c,d" {
		t.Fatalf("after SRem: rem=%d card=%d members=%q", rem, sstCard(t, s, "s"), sstMembers(t, s, "s"))
	}
	runTx(t, s, func(tx *Tx) (err error) {
		rem, err = tx.SRem(0, []byte("s"), bytesOf("b", "c", "d"))
		return err
	})
	if rem != 3 || sstExists(t, s, "s") || sstRaw(t, s, "s") != 0 {
		t.Fatalf("emptied set not deleted: rem=%d exists=%v raw=%d", rem, sstExists(t, s, "s"), sstRaw(t, s, "s"))
	}
	if s.DBSize(0) != 0 {
		t.Fatalf("DBSize = %d after the set was emptied", s.DBSize(0))
	}
}

func TestSetWrongType(t *testing.T) {
	s := openSmall(t, t.TempDir())
	defer s.Close()
	runTx(t, s, func(tx *Tx) error {
		_, err := tx.Set(0, []byte("str"), []byte("v"), SetOptions{})
		return err
	})
	sstAdd(t, s, "set", "a")
	tx := s.Begin()
	defer tx.Close()
	key := []byte("str")
	checks := map[string]error{}
	_, checks["SAdd"] = tx.SAdd(0, key, bytesOf("a"))
	_, checks["SRem"] = tx.SRem(0, key, bytesOf("a"))
	_, checks["SCard"] = tx.SCard(0, key)
	_, checks["SIsMember"] = tx.SIsMember(0, key, []byte("a"))
	_, checks["SMIsMember"] = tx.SMIsMember(0, key, bytesOf("a"))
	_, checks["SMembers"] = tx.SMembers(0, key)
	_, checks["SRandMember"] = tx.SRandMember(0, key, 0)
	_, checks["SPop"] = tx.SPop(0, key, 0)
	_, checks["SMove src"] = tx.SMove(0, key, []byte("set"), []byte("a"))
	_, checks["SMove dst"] = tx.SMove(0, []byte("set"), key, []byte("zz"))
	_, checks["SInter"] = tx.SInter(0, bytesOf("nokey", "str"))
	_, checks["SInterCard"] = tx.SInterCard(0, bytesOf("nokey", "str"), 0)
	_, checks["SUnion"] = tx.SUnion(0, bytesOf("set", "str"))
	_, checks["SDiff"] = tx.SDiff(0, bytesOf("nokey", "str"))
	_, _, checks["SScan"] = tx.SScan(0, key, nil, 10, nil)
	for name, err := range checks {
		if !errors.Is(err, ErrWrongType) {
			t.Errorf("%s on a string: err = %v, want ErrWrongType", name, err)
		}
	}
	if tx.Dirty() {
		t.Fatal("failed calls wrote something")
	}
	// A missing source is not an error even when the destination has another type.
	if ok, err := tx.SMove(0, []byte("nokey"), key, []byte("a")); ok || err != nil {
		t.Fatalf("SMove from a missing key = %v %v", ok, err)
	}
}

func TestSetRecreatedShowsNoOldMembers(t *testing.T) {
	s := openSmall(t, t.TempDir())
	defer s.Close()
	sstAdd(t, s, "s", "a", "b", "c")
	// Deleted as a key (DEL), then re-created.
	runTx(t, s, func(tx *Tx) error {
		k, err := tx.Load(0, []byte("s"))
		if err != nil {
			return err
		}
		tx.Delete(k)
		_, err = tx.SAdd(0, []byte("s"), bytesOf("x"))
		return err
	})
	if got := sstMembers(t, s, "s"); got != "x" || sstCard(t, s, "s") != 1 || sstRaw(t, s, "s") != 1 {
		t.Fatalf("after DEL + SADD: members %q card %d raw %d", got, sstCard(t, s, "s"), sstRaw(t, s, "s"))
	}
	// Emptied by SPOP, then re-created.
	runTx(t, s, func(tx *Tx) error {
		_, err := tx.SPop(0, []byte("s"), 5)
		return err
	})
	sstAdd(t, s, "s", "y")
	if got := sstMembers(t, s, "s"); got != "y" {
		t.Fatalf("after SPOP all + SADD: %q", got)
	}
	// Overwritten by a string, then deleted and re-created as a set.
	runTx(t, s, func(tx *Tx) error {
		_, err := tx.Set(0, []byte("s"), []byte("v"), SetOptions{})
		return err
	})
	if sstRaw(t, s, "s") != 0 {
		t.Fatalf("members survived SET: %d", sstRaw(t, s, "s"))
	}
	runTx(t, s, func(tx *Tx) error {
		k, err := tx.Load(0, []byte("s"))
		if err == nil {
			tx.Delete(k)
		}
		return err
	})
	sstAdd(t, s, "s", "z")
	if got := sstMembers(t, s, "s"); got != "z" {
		t.Fatalf("after SET, DEL, SADD: %q", got)
	}
	// Expired, then re-created: the old members must not come back.
	sstAdd(t, s, "s", "z1", "z2")
	runTx(t, s, func(tx *Tx) error {
		k, err := tx.Load(0, []byte("s"))
		if err != nil {
			return err
		}
		k.Meta.ExpireAt = tx.Now() - 1
		tx.Save(k)
		return nil
	})
	if sstExists(t, s, "s") {
		t.Fatal("expired set still exists")
	}
	sstAdd(t, s, "s", "new")
	if got := sstMembers(t, s, "s"); got != "new" || sstCard(t, s, "s") != 1 {
		t.Fatalf("after expiry + SADD: %q card %d", got, sstCard(t, s, "s"))
	}
	// Overwritten by a *STORE: the old version's members are dropped.
	sstAdd(t, s, "src", "p", "q")
	runTx(t, s, func(tx *Tx) error {
		ms, err := tx.SUnion(0, bytesOf("src"))
		if err == nil {
			_, err = tx.SStore(0, []byte("s"), ms)
		}
		return err
	})
	if got := sstMembers(t, s, "s"); got != "p,q" || sstRaw(t, s, "s") != 2 {
		t.Fatalf("after SStore: %q raw %d", got, sstRaw(t, s, "s"))
	}
}

func TestSetSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	s := openSmall(t, dir)
	var want []string
	for i := 0; i < 500; i++ {
		want = append(want, fmt.Sprintf("m%04d", i))
	}
	sstAdd(t, s, "s", want...)
	runTx(t, s, func(tx *Tx) error {
		_, err := tx.SRem(0, []byte("s"), bytesOf("m0000", "m0499"))
		return err
	})
	s.Close()
	s = openSmall(t, dir)
	defer s.Close()
	if n := sstCard(t, s, "s"); n != 498 {
		t.Fatalf("SCard after restart = %d", n)
	}
	if got := sstMembers(t, s, "s"); got != strings.Join(want[1:499], ",") {
		t.Fatalf("members after restart differ: %.80q...", got)
	}
	if n := sstAdd(t, s, "s", "m0000", "m0001"); n != 1 {
		t.Fatalf("SAdd after restart = %d", n)
	}
}

func TestSetMoveAndAlgebra(t *testing.T) {
	s := openSmall(t, t.TempDir())
	defer s.Close()
	sstAdd(t, s, "a", "1", "2", "3", "4")
	sstAdd(t, s, "b", "3", "4", "5")
	sstAdd(t, s, "c", "4", "5", "6")
	tx := s.Begin()
	check := func(name, got, want string, err error) {
		t.Helper()
		if err != nil || got != want {
			t.Errorf("%s = %q (%v), want %q", name, got, err, want)
		}
	}
	ms, err := tx.SInter(0, bytesOf("a", "b", "c"))
	check("SInter a b c", sstJoin(ms), "4", err)
	ms, err = tx.SInter(0, bytesOf("a", "b"))
	check("SInter a b", sstJoin(ms), "3,4", err)
	ms, err = tx.SInter(0, bytesOf("a", "a"))
	check("SInter a a", sstJoin(ms), "1,2,3,4", err)
	ms, err = tx.SInter(0, bytesOf("a", "nokey"))
	check("SInter a nokey", sstJoin(ms), "", err)
	n, err := tx.SInterCard(0, bytesOf("a", "b"), 0)
	check("SInterCard", fmt.Sprint(n), "2", err)
	n, err = tx.SInterCard(0, bytesOf("a", "b"), 1)
	check("SInterCard limit 1", fmt.Sprint(n), "1", err)
	n, err = tx.SInterCard(0, bytesOf("a", "b"), 5)
	check("SInterCard limit 5", fmt.Sprint(n), "2", err)
	ms, err = tx.SUnion(0, bytesOf("c", "a", "nokey", "b", "a"))
	check("SUnion", sstJoin(ms), "1,2,3,4,5,6", err)
	ms, err = tx.SUnion(0, bytesOf("nokey"))
	check("SUnion nokey", sstJoin(ms), "", err)
	ms, err = tx.SDiff(0, bytesOf("a", "b", "nokey"))
	check("SDiff a b", sstJoin(ms), "1,2", err)
	ms, err = tx.SDiff(0, bytesOf("a", "b", "c"))
	check("SDiff a b c", sstJoin(ms), "1,2", err)
	ms, err = tx.SDiff(0, bytesOf("a", "a"))
	check("SDiff a a", sstJoin(ms), "", err)
	ms, err = tx.SDiff(0, bytesOf("nokey", "a"))
	check("SDiff nokey a", sstJoin(ms), "", err)
	ms, err = tx.SDiff(0, bytesOf("c"))
	check("SDiff c", sstJoin(ms), "4,5,6", err)
	tx.Close()

	// SMove: to a new set, to itself, of a missing member, emptying the source.
	var ok bool
	runTx(t, s, func(tx *Tx) (err error) {
		ok, err = tx.SMove(0, []byte("a"), []byte("d"), []byte("1"))
		return err
	})
	if !ok || sstMembers(t, s, "a") != "2,3,4" || sstMembers(t, s, "d") != "1" {
		t.Fatalf("SMove a->d: %v %q %q", ok, sstMembers(t, s, "a"), sstMembers(t, s, "d"))
	}
	runTx(t, s, func(tx *Tx) (err error) {
		ok, err = tx.SMove(0, []byte("a"), []byte("a"), []byte("2"))
		return err
	})
	if !ok || sstCard(t, s, "a") != 3 {
		t.Fatalf("SMove a->a: %v card %d", ok, sstCard(t, s, "a"))
	}
	runTx(t, s, func(tx *Tx) (err error) {
		ok, err = tx.SMove(0, []byte("a"), []byte("d"), []byte("zz"))
		return err
	})
	if ok {
		t.Fatal("SMove of a missing member")
	}
	runTx(t, s, func(tx *Tx) (err error) {
		ok, err = tx.SMove(0, []byte("d"), []byte("b"), []byte("1"))
		return err
	})
	if !ok || sstExists(t, s, "d") || sstMembers(t, s, "b") != "1,3,4,5" || sstCard(t, s, "b") != 4 {
		t.Fatalf("SMove d->b: %v exists(d)=%v b=%q", ok, sstExists(t, s, "d"), sstMembers(t, s, "b"))
	}
	sstAdd(t, s, "e", "3")
	runTx(t, s, func(tx *Tx) (err error) {
		ok, err = tx.SMove(0, []byte("e"), []byte("b"), []byte("3")) // already in b
		return err
	})
	if !ok || sstExists(t, s, "e") || sstCard(t, s, "b") != 4 {
		t.Fatalf("SMove to a set that has the member: %v card(b)=%d", ok, sstCard(t, s, "b"))
	}

	// SStore with dst equal to a source.
	runTx(t, s, func(tx *Tx) error {
		ms, err := tx.SInter(0, bytesOf("b", "c"))
		if err == nil {
			_, err = tx.SStore(0, []byte("b"), ms)
		}
		return err
	})
	if got := sstMembers(t, s, "b"); got != "4,5" || sstCard(t, s, "b") != 2 || sstRaw(t, s, "b") != 2 {
		t.Fatalf("SStore b = b & c: %q raw %d", got, sstRaw(t, s, "b"))
	}
	runTx(t, s, func(tx *Tx) error {
		_, err := tx.SStore(0, []byte("b"), nil)
		return err
	})
	if sstExists(t, s, "b") || sstRaw(t, s, "b") != 0 {
		t.Fatal("SStore of an empty result left the key")
	}
}

func TestSetScan(t *testing.T) {
	s := openSmall(t, t.TempDir())
	defer s.Close()
	var all []string
	for i := 0; i < 1000; i++ {
		all = append(all, fmt.Sprintf("m%d", i))
	}
	sstAdd(t, s, "s", all...)
	seen := map[string]int{}
	var resume []byte
	calls := 0
	for {
		tx := s.Begin()
		ms, next, err := tx.SScan(0, []byte("s"), resume, 37, nil)
		tx.Close()
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range ms {
			seen[string(m)]++
		}
		calls++
		if next == nil {
			break
		}
		resume = next
		if calls > 100 {
			t.Fatal("scan does not end")
		}
	}
	if len(seen) != 1000 || calls != 28 {
		t.Fatalf("scan saw %d members in %d calls", len(seen), calls)
	}
	for m, n := range seen {
		if n != 1 {
			t.Fatalf("%s seen %d times", m, n)
		}
	}
	// MATCH filters what was examined; the count bounds what is examined.
	tx := s.Begin()
	ms, next, err := tx.SScan(0, []byte("s"), nil, 1000, func(m []byte) bool { return bytes.HasSuffix(m, []byte("99")) })
	tx.Close()
	if err != nil || next != nil || sstSorted(ms) != "m199,m299,m399,m499,m599,m699,m799,m899,m99,m999" {
		t.Fatalf("SScan match = %q next %q err %v", sstJoin(ms), next, err)
	}
	// A cursor taken before the set was re-created resumes at the same member name.
	tx = s.Begin()
	_, next, _ = tx.SScan(0, []byte("s"), nil, 500, nil)
	tx.Close()
	runTx(t, s, func(tx *Tx) error {
		k, err := tx.Load(0, []byte("s"))
		if err == nil {
			tx.Delete(k)
		}
		return err
	})
	if !bytes.HasSuffix(next, []byte("m549")) { // the 501st member in byte order
		t.Fatalf("cursor after 500 members = %q", next)
	}
	sstAdd(t, s, "s", "a", "m549", "m6", "zz")
	tx = s.Begin()
	ms, next2, err := tx.SScan(0, []byte("s"), next, 10, nil)
	tx.Close()
	if err != nil || next2 != nil || sstJoin(ms) != "m549,m6,zz" {
		t.Fatalf("resume after re-create (from %q): %q %q %v", next, sstJoin(ms), next2, err)
	}
	// A foreign cursor starts from the beginning.
	tx = s.Begin()
	ms, _, _ = tx.SScan(0, []byte("s"), []byte("garbage"), 10, nil)
	tx.Close()
	if sstJoin(ms) != "a,m549,m6,zz" {
		t.Fatalf("foreign cursor: %q", sstJoin(ms))
	}
}

func TestSetPopRandom(t *testing.T) {
	s := openSmall(t, t.TempDir())
	defer s.Close()
	for _, size := range []int{5, setRandSmall + 1, 1500} {
		key := fmt.Sprintf("s%d", size)
		members := map[string]bool{}
		var list []string
		for i := 0; i < size; i++ {
			m := fmt.Sprintf("member:%d", i*7)
			members[m] = true
			list = append(list, m)
		}
		sstAdd(t, s, key, list...)
		tx := s.Begin()
		for _, count := range []int64{1, 3, 10, int64(size / 4), int64(size / 2), int64(size), int64(size) + 5} {
			ms, err := tx.SRandMember(0, []byte(key), count)
			if err != nil {
				t.Fatal(err)
			}
			want := min(int(count), size)
			distinct := map[string]bool{}
			for _, m := range ms {
				if !members[string(m)] {
					t.Fatalf("SRandMember returned a non-member %q", m)
				}
				distinct[string(m)] = true
			}
			if len(ms) != want || len(distinct) != want {
				t.Fatalf("size %d SRandMember %d: %d members, %d distinct", size, count, len(ms), len(distinct))
			}
			ms, err = tx.SRandMember(0, []byte(key), -count)
			if err != nil || len(ms) != int(count) {
				t.Fatalf("size %d SRandMember %d: %d members (%v)", size, -count, len(ms), err)
			}
			for _, m := range ms {
				if !members[string(m)] {
					t.Fatalf("SRandMember returned a non-member %q", m)
				}
			}
		}
		if ms, _ := tx.SRandMember(0, []byte(key), 0); len(ms) != 0 {
			t.Fatal("SRandMember 0 returned members")
		}
		if tx.Dirty() {
			t.Fatal("SRandMember wrote")
		}
		tx.Close()

		// Pop in rounds until the set is gone; every member exactly once.
		popped := map[string]bool{}
		for round := 0; sstExists(t, s, key); round++ {
			count := int64(1 + round%7)
			before := sstCard(t, s, key)
			var ms [][]byte
			runTx(t, s, func(tx *Tx) (err error) {
				ms, err = tx.SPop(0, []byte(key), count)
				return err
			})
			if int64(len(ms)) != min(count, before) {
				t.Fatalf("SPop %d from %d returned %d", count, before, len(ms))
			}
			for _, m := range ms {
				if !members[string(m)] || popped[string(m)] {
					t.Fatalf("SPop returned %q twice or a non-member", m)
				}
				popped[string(m)] = true
			}
			if after := sstCard(t, s, key); after != before-int64(len(ms)) && sstExists(t, s, key) {
				t.Fatalf("SCard after SPop = %d, want %d", after, before-int64(len(ms)))
			}
			if round > size {
				t.Fatal("SPop does not empty the set")
			}
			if size > 500 && len(popped) > size/4 {
				// Finish big sets in one go: SPOP count >= SCARD deletes the key.
				runTx(t, s, func(tx *Tx) (err error) {
					ms, err = tx.SPop(0, []byte(key), int64(size))
					return err
				})
				for _, m := range ms {
					popped[string(m)] = true
				}
			}
		}
		if len(popped) != size || sstRaw(t, s, key) != 0 {
			t.Fatalf("popped %d of %d, raw records left %d", len(popped), size, sstRaw(t, s, key))
		}
	}
	tx := s.Begin()
	defer tx.Close()
	if ms, err := tx.SPop(0, []byte("nokey"), 3); len(ms) != 0 || err != nil {
		t.Fatalf("SPop of a missing key: %q %v", ms, err)
	}
	if ms, err := tx.SRandMember(0, []byte("nokey"), -3); len(ms) != 0 || err != nil {
		t.Fatalf("SRandMember of a missing key: %q %v", ms, err)
	}
}

// SPOP's random choice is recorded as plain member deletes plus the metadata write, so
// replaying the batch removes exactly what the reply returned.
func TestSetPopRecordsPlainDeletes(t *testing.T) {
	s := openSmall(t, t.TempDir())
	defer s.Close()
	var list []string
	for i := 0; i < 2000; i++ {
		list = append(list, fmt.Sprintf("%x", i*2654435761%1000003))
	}
	sstAdd(t, s, "s", list...)
	tx := s.Begin()
	defer tx.Close()
	ms, err := tx.SPop(0, []byte("s"), 5)
	if err != nil || len(ms) != 5 {
		t.Fatalf("SPop: %d %v", len(ms), err)
	}
	k, _ := tx.Load(0, []byte("s"))
	deleted := map[string]bool{}
	for _, op := range tx.Ops() {
		switch op.Kind {
		case OpDelete:
			deleted[string(memberName(k, op.Key))] = true
		case OpPut:
			if !bytes.Equal(op.Key, metaKey(0, []byte("s"))) {
				t.Fatalf("unexpected put %q", op.Key)
			}
		default:
			t.Fatalf("unexpected op kind %d", op.Kind)
		}
	}
	if len(deleted) != 5 {
		t.Fatalf("%d deletes for 5 pops", len(deleted))
	}
	for _, m := range ms {
		if !deleted[string(m)] {
			t.Fatalf("popped %q without a delete", m)
		}
	}
}

// The seek sampler must reach every part of a large set, whatever the member names
// look like: shared prefixes, members that are prefixes of others, decimal numbers.
func TestSetSamplerSpread(t *testing.T) {
	s := openSmall(t, t.TempDir())
	defer s.Close()
	shapes := map[string]func(i int) string{
		"decimal":  func(i int) string { return fmt.Sprintf("user:%d", i) },
		"prefixes": func(i int) string { return strings.Repeat("a", i%5+1) + fmt.Sprint(i/5) },
		"hex":      func(i int) string { return fmt.Sprintf("%x", uint32(i)*2654435761) },
		"binary":   func(i int) string { return string([]byte{byte(i >> 8), byte(i), 0xff, 0}) },
	}
	const size = 1000
	for name, shape := range shapes {
		key := "spread-" + name
		var list []string
		for i := 0; i < size; i++ {
			list = append(list, shape(i))
		}
		sstAdd(t, s, key, list...)
		if sstCard(t, s, key) != size {
			t.Fatalf("%s: %d members", name, sstCard(t, s, key))
		}
		tx := s.Begin()
		start := time.Now()
		seen := map[string]int{}
		const picks = 5000
		for i := 0; i < picks/100; i++ {
			ms, err := tx.SRandMember(0, []byte(key), -100)
			if err != nil || len(ms) != 100 {
				t.Fatalf("%s: %d picks, %v", name, len(ms), err)
			}
			for _, m := range ms {
				seen[string(m)]++
			}
		}
		tx.Close()
		// 5000 uniform picks over 1000 members would leave ~7 unseen and no member
		// picked more than ~17 times; the sampler is not exactly uniform, but must
		// come close.
		most := 0
		for _, n := range seen {
			most = max(most, n)
		}
		t.Logf("%s: %d of %d members seen, most picked %d times (%v)", name, len(seen), size, most, time.Since(start))
		if len(seen) < size*8/10 || most > 15*picks/size {
			t.Errorf("%s: sampler spread too poor: %d of %d members seen, most picked %d times", name, len(seen), size, most)
		}
	}
}
