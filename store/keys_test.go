package store

import (
	"bytes"
	"errors"
	"fmt"
	"sort"
	"testing"
	"time"
)

// The builders below write collections through the raw member helpers, so these tests
// depend on nothing but the key layer: every type stores members the same way.

var ktTypes = []Type{TypeString, TypeHash, TypeList, TypeSet, TypeZSet}

// ktBuild creates key as a value of type t holding elems (for a string, their
// concatenation), with an absolute expiry (0: none), committed.
func ktBuild(t testing.TB, s *Store, db int, key string, typ Type, expireAt int64, elems ...string) {
	t.Helper()
	tx := s.Begin()
	defer tx.Close()
	k, err := tx.Load(db, []byte(key))
	if err != nil {
		t.Fatal(err)
	}
	tx.Reset(k, typ)
	switch typ {
	case TypeString:
		var v []byte
		for _, e := range elems {
			v = append(v, e...)
		}
		k.Meta.Value = v
	case TypeHash:
		for _, e := range elems {
			tx.putMember(k, []byte(e), []byte("val-"+e))
		}
	case TypeSet:
		for _, e := range elems {
			tx.putMember(k, []byte(e), nil)
		}
	case TypeZSet:
		for i, e := range elems {
			score := float64(i) - 1.5
			tx.putMember(k, []byte(e), encodeU64(encodeScore(score)))
			tx.put(scoreKey(db, k.Name, k.Meta.Version, score, []byte(e)), nil)
		}
	case TypeList:
		// Push the first half on the left, the rest on the right, so Head moves.
		for i, e := range elems {
			if i%2 == 0 {
				k.Meta.Head--
				tx.put(listKey(db, k.Name, k.Meta.Version, k.Meta.Head), []byte(e))
			} else {
				tx.put(listKey(db, k.Name, k.Meta.Version, k.Meta.Tail), []byte(e))
				k.Meta.Tail++
			}
		}
	}
	if typ != TypeString {
		k.Meta.Count = uint64(len(elems))
	}
	k.Meta.ExpireAt = expireAt
	tx.Save(k)
	if err := s.Commit(tx); err != nil {
		t.Fatal(err)
	}
}

// ktView is what a key holds, independent of its name, database and version.
type ktView struct {
	Meta    Meta
	Records []string // "prefix|suffix=value" of the current version, sorted
}

func (v ktView) String() string {
	m := v.Meta
	return fmt.Sprintf("type=%v exp=%d val=%q count=%d head=%d tail=%d recs=%q",
		m.Type, m.ExpireAt, m.Value, m.Count, m.Head-listMid, m.Tail-listMid, v.Records)
}

// ktLoad returns the key's live view and the version it is stored under.
func ktLoad(t testing.TB, s *Store, db int, key string) (ktView, uint64) {
	t.Helper()
	tx := s.Begin()
	defer tx.Close()
	k, err := tx.Load(db, []byte(key))
	if err != nil {
		t.Fatal(err)
	}
	v := ktView{Meta: k.Meta}
	v.Meta.Version = 0
	v.Meta.Value = bytes.Clone(k.Meta.Value)
	if k.Exists() && k.Meta.Type != TypeString {
		for _, p := range []byte{prefixMember, prefixScore} {
			mp := memberPrefix(p, db, k.Name, k.Meta.Version)
			it := tx.iter(mp, prefixEnd(mp))
			for it.SeekFirst(); it.Valid(); it.Next() {
				v.Records = append(v.Records, fmt.Sprintf("%c|%x=%q", p, it.Key()[len(mp):], it.Value()))
			}
			it.Close()
		}
		sort.Strings(v.Records)
	}
	return v, k.Meta.Version
}

// ktRawCount counts every stored record of key's members, whatever their version, so
// that leftovers of replaced versions show up.
func ktRawCount(t testing.TB, s *Store, db int, key string) int {
	t.Helper()
	tx := s.Begin()
	defer tx.Close()
	n := 0
	for _, p := range []byte{prefixMember, prefixScore} {
		kp := keyPrefix(p, db, []byte(key))
		it := tx.iter(kp, prefixEnd(kp))
		for it.SeekFirst(); it.Valid(); it.Next() {
			n++
		}
		it.Close()
	}
	return n
}

func ktExists(t testing.TB, s *Store, db int, key string) bool {
	t.Helper()
	v, _ := ktLoad(t, s, db, key)
	return v.Meta.Type != TypeNone
}

func ktRecords(typ Type, n int) int {
	switch typ {
	case TypeString:
		return 0
	case TypeZSet:
		return 2 * n
	}
	return n
}

func TestCopyEveryType(t *testing.T) {
	s := openTest(t, t.TempDir())
	exp := time.Now().Add(time.Hour).UnixMilli()
	for _, typ := range ktTypes {
		t.Run(typ.String(), func(t *testing.T) {
			ktBuild(t, s, 0, "src", typ, exp, "a", "b", "c", "d", "e")
			want, srcVer := ktLoad(t, s, 0, "src")
			if typ == TypeList && want.Meta.Head == listMid {
				t.Fatal("builder did not move the list head")
			}
			var ok bool
			runTx(t, s, func(tx *Tx) (err error) {
				ok, err = tx.Copy(0, []byte("src"), 0, []byte("dst"), false)
				return err
			})
			if !ok {
				t.Fatal("copy to a new key reported false")
			}
			got, dstVer := ktLoad(t, s, 0, "dst")
			if got.String() != want.String() {
				t.Fatalf("copy:\n got %v\nwant %v", got, want)
			}
			if typ != TypeString && dstVer == srcVer {
				t.Fatal("copy shares the source's version")
			}
			if again, _ := ktLoad(t, s, 0, "src"); again.String() != want.String() {
				t.Fatalf("source changed by copy: %v", again)
			}

			// To another database, over an existing key of another type.
			ktBuild(t, s, 3, "dst", TypeHash, 0, "x", "y", "z", "w", "v", "u", "t")
			runTx(t, s, func(tx *Tx) (err error) {
				ok, err = tx.Copy(0, []byte("src"), 3, []byte("dst"), false)
				return err
			})
			if ok {
				t.Fatal("copy over an existing key without replace reported true")
			}
			runTx(t, s, func(tx *Tx) (err error) {
				ok, err = tx.Copy(0, []byte("src"), 3, []byte("dst"), true)
				return err
			})
			if !ok {
				t.Fatal("copy with replace reported false")
			}
			if got, _ := ktLoad(t, s, 3, "dst"); got.String() != want.String() {
				t.Fatalf("copy to db 3:\n got %v\nwant %v", got, want)
			}
			if n, w := ktRawCount(t, s, 3, "dst"), ktRecords(typ, 5); n != w {
				t.Fatalf("db 3 dst keeps %d member records, want %d (old members not dropped)", n, w)
			}

			// Missing source and same object.
			runTx(t, s, func(tx *Tx) (err error) {
				ok, err = tx.Copy(0, []byte("nosuch"), 0, []byte("x"), true)
				return err
			})
			if ok || ktExists(t, s, 0, "x") {
				t.Fatal("copy of a missing key did something")
			}
			tx := s.Begin()
			if _, err := tx.Copy(0, []byte("src"), 0, []byte("src"), true); !errors.Is(err, ErrSameObject) {
				t.Fatalf("copy onto itself: %v", err)
			}
			tx.Close()
			runTx(t, s, func(tx *Tx) error { tx.FlushDB(0); tx.FlushDB(3); return nil })
		})
	}
}

func TestRenameEveryType(t *testing.T) {
	s := openTest(t, t.TempDir())
	exp := time.Now().Add(time.Hour).UnixMilli()
	for _, typ := range ktTypes {
		t.Run(typ.String(), func(t *testing.T) {
			ktBuild(t, s, 1, "src", typ, exp, "a", "b", "c", "d")
			want, _ := ktLoad(t, s, 1, "src")
			ktBuild(t, s, 1, "dst", TypeZSet, 0, "old1", "old2", "old3")
			before := s.DBSize(1)
			var ok bool
			runTx(t, s, func(tx *Tx) (err error) {
				ok, err = tx.Rename(1, []byte("src"), []byte("dst"), true)
				return err
			})
			if ok {
				t.Fatal("renamenx over an existing key reported true")
			}
			runTx(t, s, func(tx *Tx) (err error) {
				ok, err = tx.Rename(1, []byte("src"), []byte("dst"), false)
				return err
			})
			if !ok {
				t.Fatal("rename reported false")
			}
			got, _ := ktLoad(t, s, 1, "dst")
			if got.String() != want.String() {
				t.Fatalf("rename:\n got %v\nwant %v", got, want)
			}
			if got.Meta.ExpireAt != exp {
				t.Fatalf("rename lost the TTL: %d", got.Meta.ExpireAt)
			}
			if ktExists(t, s, 1, "src") || ktRawCount(t, s, 1, "src") != 0 {
				t.Fatal("source left behind after rename")
			}
			if n, w := ktRawCount(t, s, 1, "dst"), ktRecords(typ, 4); n != w {
				t.Fatalf("dst keeps %d member records, want %d", n, w)
			}
			if s.DBSize(1) != before-1 {
				t.Fatalf("dbsize %d after rename over a key, want %d", s.DBSize(1), before-1)
			}

			// RENAMENX to a free name; renaming to itself; a missing source.
			runTx(t, s, func(tx *Tx) (err error) {
				ok, err = tx.Rename(1, []byte("dst"), []byte("third"), true)
				return err
			})
			if got, _ := ktLoad(t, s, 1, "third"); !ok || got.String() != want.String() {
				t.Fatalf("renamenx: ok=%v got %v", ok, got)
			}
			runTx(t, s, func(tx *Tx) (err error) {
				ok, err = tx.Rename(1, []byte("third"), []byte("third"), false)
				return err
			})
			if got, _ := ktLoad(t, s, 1, "third"); !ok || got.String() != want.String() {
				t.Fatalf("rename to itself: ok=%v got %v", ok, got)
			}
			tx := s.Begin()
			if _, err := tx.Rename(1, []byte("nosuch"), []byte("x"), false); !errors.Is(err, ErrNoSuchKey) {
				t.Fatalf("rename of a missing key: %v", err)
			}
			tx.Close()
			runTx(t, s, func(tx *Tx) error { tx.FlushDB(1); return nil })
		})
	}
}

func TestMoveEveryType(t *testing.T) {
	s := openTest(t, t.TempDir())
	for _, typ := range ktTypes {
		t.Run(typ.String(), func(t *testing.T) {
			exp := time.Now().Add(time.Hour).UnixMilli()
			ktBuild(t, s, 0, "k", typ, exp, "m1", "m2", "m3")
			want, _ := ktLoad(t, s, 0, "k")
			var ok bool
			runTx(t, s, func(tx *Tx) (err error) {
				ok, err = tx.Move(0, []byte("k"), 7)
				return err
			})
			if !ok {
				t.Fatal("move reported false")
			}
			if got, _ := ktLoad(t, s, 7, "k"); got.String() != want.String() {
				t.Fatalf("move:\n got %v\nwant %v", got, want)
			}
			if ktExists(t, s, 0, "k") || ktRawCount(t, s, 0, "k") != 0 {
				t.Fatal("source left behind after move")
			}
			if s.DBSize(0) != 0 || s.DBSize(7) != 1 {
				t.Fatalf("dbsize 0=%d 7=%d", s.DBSize(0), s.DBSize(7))
			}
			// Back again is refused while the name is taken.
			ktBuild(t, s, 0, "k", TypeString, 0, "taken")
			runTx(t, s, func(tx *Tx) (err error) {
				ok, err = tx.Move(7, []byte("k"), 0)
				return err
			})
			if ok {
				t.Fatal("move onto an existing key reported true")
			}
			if v, _ := getString(t, s, 0, "k"); v != "taken" {
				t.Fatalf("move clobbered the destination: %q", v)
			}
			tx := s.Begin()
			if _, err := tx.Move(7, []byte("k"), 7); !errors.Is(err, ErrSameObject) {
				t.Fatalf("move to the same db: %v", err)
			}
			if ok, err := tx.Move(7, []byte("nosuch"), 1); ok || err != nil {
				t.Fatalf("move of a missing key: %v %v", ok, err)
			}
			tx.Close()
			runTx(t, s, func(tx *Tx) error { tx.FlushDB(0); tx.FlushDB(7); return nil })
		})
	}
}

// An expired destination counts as missing for RENAMENX, COPY and MOVE, and its old
// members must not leak into the new value.
func TestCopyOverExpiredKey(t *testing.T) {
	s := openTest(t, t.TempDir())
	ktBuild(t, s, 0, "src", TypeSet, 0, "new1", "new2")
	ktBuild(t, s, 0, "dst", TypeSet, time.Now().Add(20*time.Millisecond).UnixMilli(), "old1", "old2", "old3")
	time.Sleep(40 * time.Millisecond)
	var ok bool
	runTx(t, s, func(tx *Tx) (err error) {
		ok, err = tx.Copy(0, []byte("src"), 0, []byte("dst"), false)
		return err
	})
	if !ok {
		t.Fatal("copy over an expired key reported false")
	}
	got, _ := ktLoad(t, s, 0, "dst")
	want, _ := ktLoad(t, s, 0, "src")
	if got.String() != want.String() {
		t.Fatalf("got %v want %v", got, want)
	}
	if n := ktRawCount(t, s, 0, "dst"); n != 2 {
		t.Fatalf("dst has %d member records, want 2", n)
	}
	if got.Meta.ExpireAt != 0 {
		t.Fatal("copy kept the expired destination's TTL")
	}
}

func TestScanKeys(t *testing.T) {
	s := openTest(t, t.TempDir())
	var want []string
	for i := 0; i < 50; i++ {
		name := fmt.Sprintf("user:%03d", i)
		exp := int64(0)
		if i%5 == 0 {
			exp = time.Now().Add(-time.Second).UnixMilli() // already expired
		} else {
			want = append(want, name)
		}
		ktBuild(t, s, 2, name, ktTypes[i%len(ktTypes)], exp, "x")
	}
	ktBuild(t, s, 2, "other", TypeString, 0, "x")
	ktBuild(t, s, 3, "user:999", TypeString, 0, "x")

	tx := s.Begin()
	defer tx.Close()
	var got []string
	var resume []byte
	for rounds := 0; ; rounds++ {
		if rounds > 100 {
			t.Fatal("scan does not finish")
		}
		next, err := tx.ScanKeys(2, []byte("user:"), resume, 7, func(name []byte, typ Type) {
			got = append(got, string(name))
		})
		if err != nil {
			t.Fatal(err)
		}
		if next == nil {
			break
		}
		resume = next
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("scan:\n got %v\nwant %v", got, want)
	}
	var types []Type
	if _, err := tx.ScanKeys(2, []byte("user:00"), nil, 0, func(name []byte, typ Type) {
		types = append(types, typ)
	}); err != nil {
		t.Fatal(err)
	}
	// user:001..009 minus user:005: types follow i % 5.
	if fmt.Sprint(types) != "[hash list set zset hash list set zset]" {
		t.Fatalf("types = %v", types)
	}
	for i := 0; i < 200; i++ {
		k, err := tx.RandomKey(2)
		if err != nil {
			t.Fatal(err)
		}
		if k == nil {
			t.Fatal("randomkey: nil on a db with keys")
		}
		var n int
		fmt.Sscanf(string(k), "user:%d", &n)
		if string(k) != "other" && n%5 == 0 {
			t.Fatalf("randomkey returned expired key %q", k)
		}
	}
	if k, err := tx.RandomKey(9); k != nil || err != nil {
		t.Fatalf("randomkey on an empty db: %q %v", k, err)
	}
}

func TestRandomKeyOnlyExpired(t *testing.T) {
	s := openTest(t, t.TempDir())
	past := time.Now().Add(-time.Second).UnixMilli()
	for i := 0; i < 700; i++ {
		ktBuild(t, s, 0, fmt.Sprint("dead", i), TypeString, past, "x")
	}
	tx := s.Begin()
	defer tx.Close()
	if k, err := tx.RandomKey(0); k != nil || err != nil {
		t.Fatalf("randomkey with only expired keys: %q %v", k, err)
	}
	tx.Close()
	ktBuild(t, s, 0, "alive", TypeString, 0, "x")
	tx = s.Begin()
	for i := 0; i < 20; i++ {
		if k, err := tx.RandomKey(0); string(k) != "alive" || err != nil {
			t.Fatalf("randomkey = %q %v, want alive", k, err)
		}
	}
}

func TestTxDBSize(t *testing.T) {
	s := openTest(t, t.TempDir())
	setString(t, s, 0, "a", "1")
	setString(t, s, 0, "b", "1")
	tx := s.Begin()
	tx.Set(0, []byte("c"), []byte("1"), SetOptions{})
	if n := tx.DBSize(0); n != 3 {
		t.Fatalf("dbsize with a pending set = %d", n)
	}
	tx.Flush(0)
	if n := tx.DBSize(0); n != 0 {
		t.Fatalf("dbsize after flush = %d", n)
	}
	// The transaction's own writes from before the flush are gone for its reads too.
	if _, ok, _ := tx.GetString(0, []byte("c")); ok {
		t.Fatal("a key set before the flush is still visible after it")
	}
	if _, err := tx.ScanKeys(0, nil, nil, 0, func(name []byte, _ Type) {
		t.Fatalf("scan after flush found %q", name)
	}); err != nil {
		t.Fatal(err)
	}
	tx.Set(0, []byte("d"), []byte("1"), SetOptions{})
	if n := tx.DBSize(0); n != 1 {
		t.Fatalf("dbsize after flush and set = %d", n)
	}
	if err := s.Commit(tx); err != nil {
		t.Fatal(err)
	}
	tx.Close()
	if _, ok := getString(t, s, 0, "c"); ok {
		t.Fatal("c survived the flush")
	}
	if v, ok := getString(t, s, 0, "d"); !ok || v != "1" || s.DBSize(0) != 1 {
		t.Fatalf("d = %q %v, dbsize %d", v, ok, s.DBSize(0))
	}
}

// A key deleted, expired or overwritten by another type and created again must never
// show its old members, neither at once nor after a restart.
func TestRecreatedKeyHasNoOldMembers(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, dir)
	ways := map[string]func(name string){
		"deleted": func(name string) {
			runTx(t, s, func(tx *Tx) error {
				k, err := tx.Load(0, []byte(name))
				if err == nil {
					tx.Delete(k)
				}
				return err
			})
		},
		"expired": func(name string) {
			runTx(t, s, func(tx *Tx) error {
				k, err := tx.Load(0, []byte(name))
				if err == nil {
					k.Meta.ExpireAt = time.Now().Add(10 * time.Millisecond).UnixMilli()
					tx.Save(k)
				}
				return err
			})
			time.Sleep(30 * time.Millisecond)
		},
		"overwritten": func(name string) { setString(t, s, 0, name, "plain") },
	}
	want := map[string]string{}
	for way, kill := range ways {
		for _, typ := range ktTypes[1:] {
			name := way + ":" + typ.String()
			ktBuild(t, s, 0, name, typ, 0, "old1", "old2", "old3", "shared")
			kill(name)
			if v, _ := ktLoad(t, s, 0, name); v.Meta.Type == typ {
				t.Fatalf("%s still exists", name)
			}
			// Re-create through Create, as every type's write path does after a delete
			// or an expiry; over the string, replace it as the *STORE commands do.
			runTx(t, s, func(tx *Tx) error {
				k, err := tx.Create(0, []byte(name), typ)
				if way == "overwritten" {
					if !errors.Is(err, ErrWrongType) {
						return fmt.Errorf("%s: create over a string: %v", name, err)
					}
					if k, err = tx.Load(0, []byte(name)); err == nil {
						tx.Reset(k, typ)
					}
				}
				if err != nil {
					return err
				}
				if k.Meta.Count != 0 {
					return fmt.Errorf("%s: re-created with count %d", name, k.Meta.Count)
				}
				if typ == TypeList {
					tx.put(listKey(0, k.Name, k.Meta.Version, k.Meta.Tail), []byte("shared"))
					k.Meta.Tail++
				} else {
					tx.putMember(k, []byte("shared"), []byte("new"))
				}
				k.Meta.Count = 1
				tx.Save(k)
				return nil
			})
			v, _ := ktLoad(t, s, 0, name)
			want[name] = v.String()
			if v.Meta.Count != 1 || len(v.Records) != 1 {
				t.Fatalf("%s re-created: %v", name, v)
			}
		}
	}
	check := func(when string) {
		for name, w := range want {
			v, _ := ktLoad(t, s, 0, name)
			if v.String() != w {
				t.Fatalf("%s %s:\n got %v\nwant %s", name, when, v, w)
			}
			if n := ktRawCount(t, s, 0, name); n != 1 {
				t.Fatalf("%s %s: %d member records stored, want 1", name, when, n)
			}
		}
	}
	check("before restart")
	s.Close()
	s = openTest(t, dir)
	check("after restart")
	// New versions after the restart must not collide with the ones before it.
	for name := range want {
		v, ver := ktLoad(t, s, 0, name)
		runTx(t, s, func(tx *Tx) error {
			k, err := tx.Load(0, []byte(name))
			if err != nil {
				return err
			}
			tx.Reset(k, v.Meta.Type)
			if k.Meta.Version <= ver {
				return fmt.Errorf("%s: version %d after restart is not above %d", name, k.Meta.Version, ver)
			}
			return nil
		})
	}
}

// The active expiry cycle removes expired keys of every type, members included,
// without anyone touching them.
func TestActiveExpiryRemovesEveryType(t *testing.T) {
	s := openTest(t, t.TempDir())
	exp := time.Now().Add(50 * time.Millisecond).UnixMilli()
	for i, typ := range ktTypes {
		ktBuild(t, s, 4, fmt.Sprint("k", i), typ, exp, "a", "b", "c")
	}
	ktBuild(t, s, 4, "keep", TypeHash, 0, "a")
	// A renamed and a moved key expire under their new names.
	ktBuild(t, s, 4, "before-rename", TypeList, exp, "a", "b")
	ktBuild(t, s, 5, "moved", TypeZSet, exp, "a", "b")
	runTx(t, s, func(tx *Tx) error {
		if _, err := tx.Move(5, []byte("moved"), 4); err != nil {
			return err
		}
		_, err := tx.Rename(4, []byte("before-rename"), []byte("renamed"), false)
		return err
	})
	if n := s.DBSize(4); n != 8 {
		t.Fatalf("dbsize = %d", n)
	}
	deadline := time.Now().Add(5 * time.Second)
	for s.DBSize(4) != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("active expiry left dbsize at %d", s.DBSize(4))
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, name := range []string{"k0", "k1", "k2", "k3", "k4", "renamed", "moved"} {
		if n := ktRawCount(t, s, 4, name); n != 0 {
			t.Fatalf("%s: %d member records left after expiry", name, n)
		}
	}
	if s.DBSize(5) != 0 {
		t.Fatalf("db 5 dbsize = %d after move", s.DBSize(5))
	}
	if !ktExists(t, s, 4, "keep") {
		t.Fatal("active expiry removed a key without TTL")
	}
}

// StoredSize with every member sampled is the size of the key's records as stored.
func TestStoredSizeCountsTheRecords(t *testing.T) {
	for _, typ := range ktTypes {
		for _, expireAt := range []int64{0, time.Now().Add(time.Hour).UnixMilli()} {
			s := openSmall(t, t.TempDir())
			ktBuild(t, s, 3, "key", typ, expireAt, "a", "bb", "cccc", "dddddddd")
			tx := s.Begin()
			all := tx.iter([]byte{0}, []byte{0xff})
			var want int64
			for all.SeekFirst(); all.Valid(); all.Next() {
				if all.Key()[0] != prefixSys {
					want += int64(len(all.Key()) + len(all.Value()))
				}
			}
			all.Close()
			k, err := tx.Load(3, []byte("key"))
			if err != nil {
				t.Fatal(err)
			}
			got, err := tx.StoredSize(k, 0)
			if err != nil || got != want {
				t.Fatalf("%v, expiry %d: StoredSize = %d, %v; the records take %d bytes", typ, expireAt, got, err, want)
			}
			if typ != TypeString {
				// One sampled member stands for all four.
				one, _ := tx.StoredSize(k, 1)
				if typ != TypeList && one >= got || one <= int64(len("key")) {
					t.Fatalf("%v: StoredSize from one member = %d, from all %d", typ, one, got)
				}
			}
			tx.Close()
			s.Close()
		}
	}
}
