package store

// Key is a handle on one key inside a transaction: its stored metadata (if any) and
// the metadata the command wants to leave behind. Load it, change Meta, Save it.
type Key struct {
	DB   int
	Name []byte
	// Meta is the key's live metadata; zero Type means the key does not exist.
	Meta Meta

	old  Meta // as stored, possibly expired
	phys bool // a metadata record is stored (live or expired)
}

// Exists reports whether the key is live.
func (k *Key) Exists() bool { return k.Meta.Type != TypeNone }

// Load reads a key's metadata. An expired key loads as missing.
func (tx *Tx) Load(db int, name []byte) (*Key, error) {
	k := &Key{DB: db, Name: name}
	raw, err := tx.get(metaKey(db, name))
	if err != nil {
		return nil, err
	}
	if raw != nil {
		if err := decodeMeta(raw, &k.old); err != nil {
			return nil, err
		}
		k.phys = true
		if !k.old.Expired(tx.now) {
			k.Meta = k.old
		}
	}
	return k, nil
}

// LoadType loads a key that must be of type t or missing; another type is ErrWrongType.
func (tx *Tx) LoadType(db int, name []byte, t Type) (*Key, error) {
	k, err := tx.Load(db, name)
	if err != nil {
		return nil, err
	}
	if k.Meta.Type != TypeNone && k.Meta.Type != t {
		return nil, ErrWrongType
	}
	return k, nil
}

// Create loads a key of type t, creating empty metadata (with a fresh version) when it
// is missing. Save writes it back; a collection saved with Count 0 is deleted.
func (tx *Tx) Create(db int, name []byte, t Type) (*Key, error) {
	k, err := tx.LoadType(db, name, t)
	if err != nil {
		return nil, err
	}
	if !k.Exists() {
		tx.Reset(k, t)
	}
	return k, nil
}

// Reset replaces the key's metadata with an empty value of type t and a fresh version,
// dropping whatever it held (the old members become unreachable at once).
func (tx *Tx) Reset(k *Key, t Type) {
	k.Meta = Meta{Type: t}
	if t != TypeString && t != TypeNone {
		k.Meta.Version = tx.s.newVersion()
		tx.put(sysVersionKey, encodeU64(k.Meta.Version))
	}
	if t == TypeList {
		k.Meta.Head, k.Meta.Tail = listMid, listMid
	}
}

// Save writes the key's metadata back: deletes it when it became empty, drops the
// members of a replaced version, keeps the expiry index and the key count in step.
func (tx *Tx) Save(k *Key) {
	m := &k.Meta
	empty := m.Type == TypeNone || (m.Type != TypeString && m.Count == 0)
	mk := metaKey(k.DB, k.Name)
	if k.phys {
		o := &k.old
		if o.Type != TypeString && (empty || o.Type != m.Type || o.Version != m.Version) {
			tx.dropMembers(k.DB, k.Name, o)
		}
		if o.ExpireAt != 0 && (empty || o.ExpireAt != m.ExpireAt) {
			tx.del(expireKey(k.DB, o.ExpireAt, k.Name))
		}
	}
	if empty {
		if k.phys {
			tx.del(mk)
			tx.deltas[k.DB]--
		}
		k.phys = false
		k.old = Meta{}
		k.Meta = Meta{}
	} else {
		tx.put(mk, encodeMeta(m))
		if m.ExpireAt != 0 && (!k.phys || k.old.ExpireAt != m.ExpireAt) {
			tx.put(expireKey(k.DB, m.ExpireAt, k.Name), nil)
		}
		if !k.phys {
			tx.deltas[k.DB]++
		}
		k.phys = true
		k.old = *m
	}
	tx.touch(k.DB, k.Name)
}

// Delete removes the key. It reports whether a live key was removed.
func (tx *Tx) Delete(k *Key) bool {
	live := k.Exists()
	if !k.phys {
		return false
	}
	k.Meta = Meta{}
	tx.Save(k)
	return live
}

// smallCollection is the size up to which a dropped collection's members are deleted
// one by one. Range deletions cost O(1) to write, but RocksDB 7 re-fragments every range
// tombstone in a memtable on each read, so many of them (a workload deleting many small
// hashes) would slow every read down; point deletes of a few members cost little.
const smallCollection = 128

// dropMembers removes every member of one version of a collection: point deletes for a
// small one, range deletions (constant time) for a large one.
func (tx *Tx) dropMembers(db int, name []byte, m *Meta) {
	version, count := m.Version, m.Count
	prefixes := []byte{prefixMember, prefixScore}
	if m.Type == TypeZSet && rankLevels(count) > 0 {
		prefixes = append(prefixes, prefixRank)
	}
	for _, prefix := range prefixes {
		p := memberPrefix(prefix, db, name, version)
		if count > smallCollection {
			tx.delRange(p, prefixEnd(p))
			continue
		}
		var keys [][]byte
		it := tx.iter(p, prefixEnd(p))
		for it.SeekFirst(); it.Valid() && len(keys) <= 2*smallCollection; it.Next() {
			keys = append(keys, append([]byte(nil), it.Key()...))
		}
		err := it.Err()
		it.Close()
		if err != nil || len(keys) > 2*smallCollection {
			// A count that does not match what is stored: fall back to the range.
			tx.delRange(p, prefixEnd(p))
			continue
		}
		for _, k := range keys {
			tx.del(k)
		}
	}
}

func (tx *Tx) touch(db int, name []byte) {
	tx.touched = append(tx.touched, KeyRef{DB: db, Key: string(name)})
}

// FlushAll drops every key of every database with one range deletion per record kind.
func (tx *Tx) FlushAll() {
	kept := tx.ops[:0]
	for _, op := range tx.ops {
		if op.Kind == OpDeleteRange || (len(op.Key) > 0 && op.Key[0] == prefixSys) {
			kept = append(kept, op)
		}
	}
	tx.ops = kept
	if tx.wb != nil {
		tx.wb.Destroy()
		tx.wb, tx.wbOps = nil, 0
	}
	tx.pending, tx.pendingOps = nil, 0
	for _, p := range []byte{prefixMeta, prefixMember, prefixScore, prefixRank, prefixExpire} {
		tx.delRange([]byte{p}, []byte{p + 1})
	}
	for db := 0; db < Databases; db++ {
		tx.flushed |= 1 << db
		tx.deltas[db] = 0
		tx.touched = append(tx.touched, KeyRef{DB: db, All: true, Flush: true})
	}
}

// FlushDB drops every key of db. Earlier writes of this transaction to db are dropped
// from the batch (the range deletions cover them anyway), so reads after the flush
// see an empty database plus only what is written later.
func (tx *Tx) FlushDB(db int) {
	kept := tx.ops[:0]
	for _, op := range tx.ops {
		if op.Kind != OpDeleteRange && len(op.Key) >= 2 && op.Key[0] != prefixSys && int(op.Key[1]) == db {
			continue
		}
		kept = append(kept, op)
	}
	tx.ops = kept
	if tx.wb != nil {
		tx.wb.Destroy()
		tx.wb, tx.wbOps = nil, 0
	}
	tx.pending, tx.pendingOps = nil, 0
	for _, p := range []byte{prefixMeta, prefixMember, prefixScore, prefixRank, prefixExpire} {
		start := []byte{p, byte(db)}
		tx.delRange(start, prefixEnd(start))
	}
	tx.flushed |= 1 << db
	tx.deltas[db] = 0
	tx.touched = append(tx.touched, KeyRef{DB: db, All: true, Flush: true})
}

// Member access for collections. Every data type file builds on these.

func (tx *Tx) getMember(k *Key, member []byte) ([]byte, error) {
	return tx.get(memberKey(k.DB, k.Name, k.Meta.Version, member))
}

func (tx *Tx) putMember(k *Key, member, value []byte) {
	tx.put(memberKey(k.DB, k.Name, k.Meta.Version, member), value)
}

func (tx *Tx) delMember(k *Key, member []byte) {
	tx.del(memberKey(k.DB, k.Name, k.Meta.Version, member))
}

// members iterates the member records of the key's current version.
func (tx *Tx) members(k *Key) *Iter {
	p := memberPrefix(prefixMember, k.DB, k.Name, k.Meta.Version)
	return tx.iter(p, prefixEnd(p))
}

// memberName strips the member-key prefix of key k from a raw member key.
func memberName(k *Key, raw []byte) []byte {
	return raw[2+4+len(k.Name)+8:]
}
