// Package store keeps Strata's data types in RocksDB.
//
// # Key encoding (format version 2)
//
// Every Redis key has one metadata record; the members of a collection live in their
// own records tagged with the metadata's version. All integers are big-endian, so
// RocksDB's byte order is the numeric order.
//
//	metadata   'm' | db u8 | user key                                  -> meta value
//	member     's' | db u8 | len(key) u32 | key | version u64 | member -> member value
//	list item  's' | db u8 | len(key) u32 | key | version u64 | index u64 -> element
//	zset index 'z' | db u8 | len(key) u32 | key | version u64 | score u64 | member -> ""
//	rank node  'r' | db u8 | len(key) u32 | key | version u64 | level u8 | score u64 | member -> ""
//	rank count 'r' | db u8 | len(key) u32 | key | version u64 | 0x80|level u8 | score u64 | member -> count u64
//	expiry     'e' | db u8 | expire-at ms u64 | user key               -> ""
//	system     '!' | name                                              -> value
//
//	meta value:
//	+------+-----------+---------------------------------------------+
//	| type | expire-at | string: value bytes                          |
//	|  u8  |  ms u64   | hash/set/zset: version u64 | count u64       |
//	|      | (0 = none)| list: version u64 | count u64 | head | tail  |
//	+------+-----------+---------------------------------------------+
//
// Member values: hash field -> field value; set member -> empty; zset member -> score
// (8 bytes, the same order-preserving encoding as the index); list index -> element.
// A list's elements occupy indexes [head, tail); the first push lands at 2^63 so the
// list can grow 2^63 times either way. A score's u64 is the float's bits with the sign
// bit flipped for positives and all bits flipped for negatives; -0 is stored as +0.
//
// The rank index (zset_rank.go) keeps counts over the score index of sorted sets with
// at least 1024 members, for reads by rank in O(log n); format 2 added it, and a format
// 1 database opens as is: its sets get the index at their first write.
//
// System records: "!format" holds the format version (a newer one is refused at
// open), "!keys/<db>" the number of keys per database (DBSIZE is O(1)), "!version" the
// highest member version handed out.
//
// # Why versions
//
// DEL, overwrite and expiry of a collection must not touch its members in the
// foreground. Replacing the metadata with a new version makes every old member
// unreachable at once; the same write range-deletes the old version's member and
// score ranges, which RocksDB drops during compaction. A key that is re-created gets
// a new version, so it never shows old members, before or after a restart. An expired
// key is treated as missing by every read and is removed by the background expiry
// cycle (through the normal commit path, so the removal is logged like any write).
//
// # Writes
//
// A Tx collects one command's changes as a list of Ops (put, delete, range delete) and
// serves reads that see them. Commit is the single write path: concurrent transactions
// are grouped into one RocksDB write, together with the per-database key counts. The
// binlog gets every transaction's changes; RocksDB gets each key once per group, with
// the value of the last transaction that wrote it (a collection's metadata, rewritten
// by each command, would otherwise cost a memtable insert per command).
//
// # Reads
//
// A point read looks, in order, at the transaction's own writes, the overlay of
// transactions queued but not yet written, the key cache (metadata records only, in
// Go memory off the heap, written after each RocksDB write), and RocksDB. A read that
// goes to RocksDB fills the cache only when no write to the same stripe of keys was
// applied meanwhile, so the cache never holds a value older than RocksDB's.
// Iterators read RocksDB and merge in the queued writes inside their range (overlay.go),
// so no read waits for the queue. Writers of large sorted sets also keep the rank
// index levels they use in memory (rankcache.go).
package store
