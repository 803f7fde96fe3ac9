// Package binlog is Strata's write-ahead log: every change is appended here before it
// is applied to RocksDB, and replication ships it to followers.
//
// The log is a directory of segment files whose names sort by the ID of their first
// record (%020d.binlog). A segment is closed and a new one started once it passes
// the size limit. Records carry dense, increasing 64-bit IDs; the ID of a segment's
// first record is in its name, so finding a record reads one directory listing and
// scans one segment, never the log from the start.
//
// # Record framing
//
// All integers little-endian. The wire constants are part of the format and must not
// change.
//
//	+----------+----------+------+--------------------------------------+
//	| CRC-32C  | length   | type | payload (length bytes)               |
//	| u32      | u32      | u8   |                                      |
//	+----------+----------+------+--------------------------------------+
//	 CRC-32C (Castagnoli) covers length, type and payload.
//
//	payload of a TypeChange record:
//	+--------+----------------+-------------+-----------------------------+
//	| id u64 | history [20]u8 | unix ms i64 | changes (opaque to binlog)  |
//	+--------+----------------+-------------+-----------------------------+
//
// The history is the 20-byte replication ID (printed as 40 hex digits) of the
// history the record belongs to; it changes when a follower is promoted.
//
// Every segment starts with a TypeHeader record whose payload is the magic "STRATABL",
// a format version u16 and the ID of the segment's first record.
//
// # Recovery
//
// Opening the log scans the last segment. A record cut short by the end of the file,
// or a tail of zero bytes, is a torn write from a crash: the tail is truncated (a copy
// of the cut bytes is kept as <segment>.torn-<offset>) and a warning names the file and
// offset. A record whose CRC does not match anywhere else — in an earlier segment, or
// followed by further data — is corruption: Open fails with an error for which
// IsCorruption is true, naming the file and the offset.
//
// # Durability
//
// Sync policy always: Append returns after the records are fsynced; concurrent
// callers grouped by the store's commit path share one fsync. everysec: a background
// loop fsyncs once a second. no: the operating system decides. A failed write or fsync
// is sticky: the log refuses every later append until it is reopened, because after a
// failed fsync the kernel may have dropped the dirty pages and nothing written since
// can be trusted.
//
// The fsyncs (fdatasync) run on a thread of their own outside Go's scheduler
// (syncer.go), so a slow disk flush does not hold up the goroutines serving clients.
package binlog
