package store

import (
	"errors"
	"reflect"
	"testing"
)

// Decoders of bytes that come from outside this process: change records (the binlog,
// a master) and stored records (a dump file being loaded). Seeds live in
// testdata/fuzz/<FuzzName>.

// FuzzDecodeChanges: any input is refused as corrupt or decodes into changes whose
// encoding decodes to the same changes.
func FuzzDecodeChanges(f *testing.F) {
	var deltas [Databases]int64
	deltas[0], deltas[3] = 2, -1
	ops := []Op{
		{Kind: OpPut, Key: metaKey(0, []byte("k")), Value: encodeMeta(&Meta{Type: TypeString, Value: []byte("v")})},
		{Kind: OpDelete, Key: metaKey(3, []byte("gone"))},
		{Kind: OpDeleteRange, Key: []byte("m\x00a"), Value: []byte("m\x00b")},
	}
	f.Add(encodeChanges(nil, ops, &deltas, 1<<5))
	f.Add(encodeChanges(nil, nil, &[Databases]int64{}, 0))
	f.Add([]byte{changesVersion})
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := DecodeChanges(b)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error %v is not ErrCorrupt", err)
			}
			return
		}
		again, err := DecodeChanges(encodeChanges(nil, c.Ops, &c.Deltas, c.Flushed))
		if err != nil {
			t.Fatalf("re-encoded changes do not decode: %v", err)
		}
		if len(c.Ops) == 0 && len(again.Ops) == 0 {
			again.Ops = c.Ops // nil and empty are the same list
		}
		if !reflect.DeepEqual(c, again) {
			t.Fatalf("decoded %+v, after a round trip %+v", c, again)
		}
	})
}

// FuzzDecodeRecord: any stored key and value decode or are refused as corrupt, and a
// decoded record's parts lie inside what was given.
func FuzzDecodeRecord(f *testing.F) {
	zs := &Meta{Type: TypeZSet, Version: 7, Count: 2}
	f.Add(metaKey(1, []byte("z")), encodeMeta(zs))
	f.Add(metaKey(0, []byte("l")), encodeMeta(&Meta{Type: TypeList, Version: 3, Count: 1, Head: 5, Tail: 6}))
	f.Add(append(append([]byte{prefixMember, 1, 0, 0, 0, 1, 'z'}, encodeU64(7)...), "alice"...), encodeU64(0))
	f.Add(append(append([]byte{prefixScore, 1, 0, 0, 0, 1, 'z'}, encodeU64(7)...), append(encodeU64(1), "alice"...)...), []byte{})
	f.Add(append(append([]byte{prefixRank, 1, 0, 0, 0, 1, 'z'}, encodeU64(7)...), append([]byte{rankCounts | 1}, encodeU64(9)...)...), encodeU64(1024))
	f.Add(append([]byte{prefixExpire, 0}, append(encodeU64(1700000000000), "k"...)...), []byte{})
	f.Add([]byte{prefixSys, 'x'}, []byte("1"))
	f.Fuzz(func(t *testing.T, key, value []byte) {
		r, err := DecodeRecord(key, value)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error %v is not ErrCorrupt", err)
			}
			return
		}
		if r.DB < 0 || r.DB >= Databases || len(r.Key) > len(key) || len(r.Member) > len(key) {
			t.Fatalf("record %+v out of its key %x", r, key)
		}
	})
}
