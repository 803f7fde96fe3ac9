// Package repl ships the binlog from a master to its followers.
//
// # Handshake (RESP, on the client port, after AUTH with masterauth)
//
//	follower: REPLCONF listening-port <port>      (and ip-address <ip> when announced)
//	follower: REPLCONF capa psync2
//	follower: PSYNC <history hex | ?> <next ID | -1>
//	master:   +CONTINUE <history hex>              records follow from <next ID>
//	      or: +FULLRESYNC <history hex> <ID>       a copy of the data at <ID> follows,
//	                                               then records from <ID>+1
//
// The master answers CONTINUE when it still has every record from <next ID> on and
// the follower's data is a prefix of its own: the follower's history is the current
// one, or the one before the last promotion and <next ID> is not past the point where
// that history ended. Anything else — unknown history, purged records, a follower
// with records the master never had — gets a full copy: a diverged follower is never
// patched.
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
//
// Records are pushed as soon as they are in the master's binlog, without waiting for
// acknowledgements, so throughput does not depend on the round trip.
//
// # Acknowledgements (follower to master, RESP)
//
//	REPLCONF ACK <ID>   the follower has every record up to <ID> in its binlog
//
// sent after each applied batch and once a second. Semi-sync writes wait for these.
package repl
