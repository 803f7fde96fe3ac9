// Package repl ships the binlog from a master to its followers.
//
// # Handshake (RESP, on the client port, after AUTH with masterauth)
//
//	follower: REPLCONF listening-port <port>      (and ip-address <ip> when announced)
//	follower: REPLCONF capa psync2 capa compress-zstd capa compress-snappy
//	follower: REPLCONF have-identity <id>          (optional, see "Reusing files")
//	follower: REPLCONF have-files <name:size:tail,...>   (repeated, 32KB per call)
//	follower: PSYNC <history hex | ?> <next ID | -1>
//	master:   +CONTINUE <history hex> [compress=<codec>]
//	                                               records follow from <next ID>
//	      or: +FULLRESYNC <history hex> <ID> [compress=<codec>]
//	                                               a copy of the data at <ID> follows,
//	                                               then records from <ID>+1
//
// The master answers CONTINUE when it still has every record from <next ID> on and
// the follower's data is a prefix of its own: the follower's history is the current
// one, or the one before the last promotion and <next ID> is not past the point where
// that history ended. Anything else — unknown history, purged records, a follower
// with records the master never had — gets a full copy: a diverged follower is never
// patched.
//
// Options after the fixed fields of the reply are key=value words; a follower ignores
// keys it does not know. compress=<codec> is only ever one the follower offered with
// capa compress-<codec>; without it the stream is not compressed. The master prefers
// its configured codec (repl_compression; zstd falls back to snappy).
//
// # Stream (master to follower, after the reply line)
//
//	+------+------------+-----------------------------+
//	| type | length u32 | payload                     |
//	| u8   | (LE)       |                             |
//	+------+------------+-----------------------------+
//	type 1 records:   count u32, then per record id u64 | history [20] | unix ms i64 |
//	                  len u32 | changes (the store's change encoding)
//	type 2 heartbeat: master's last ID u64 | unix ms i64
//	type 3 file:      name len u16 | name | size u64; the file's bytes follow as
//	type 4 chunks;    then
//	type 5 copy done: (empty): the copy is complete, records follow
//	type 6 file kept: name len u16 | name | size u64: the follower's own copy of the
//	                  file is the master's; no chunks follow
//
// On a compressed stream, type bit 0x80 marks a frame whose payload is compressed on
// its own with the negotiated codec (a zstd frame, or a snappy block); length is the
// compressed size. Frames that are small (under 512 bytes) or do not shrink are sent
// as they are. The length limit (256MB) holds before and after decompression.
//
// Records are pushed as soon as they are in the master's binlog, without waiting for
// acknowledgements, so throughput does not depend on the round trip.
//
// # Reusing files in a full copy
//
// Before PSYNC a follower hard-links the SST files of its live data into the
// directory a copy is received in, and announces them with the data's RocksDB
// IDENTITY: have-files entries are name:size:tail, tail being a hash of the file's
// size and last 16KB (which hold the SST's properties, naming the DB session that
// wrote it). A master whose checkpoint has the same IDENTITY (a copy carries the
// master's IDENTITY, so a follower that installed one shares it) sends a kept frame
// for each SST with the same name, size and tail, instead of its bytes. The follower
// keeps those links, replaces or drops the others, and installs the result. Only SST
// files qualify: RocksDB never changes one once written. The tail check matters: after
// installing a copy, a follower's own flushes number their files on from the copy's,
// so a master's file and a follower's may share a name.
//
// # TLS
//
// The link is a client connection, so it is encrypted when the master's client port
// serves TLS and the follower dials with FollowerOptions.TLS (see ClientTLS).
//
// # Acknowledgements (follower to master, RESP)
//
//	REPLCONF ACK <ID>   the follower has every record up to <ID> in its binlog
//
// sent after each applied batch and once a second. Semi-sync writes wait for these.
package repl
