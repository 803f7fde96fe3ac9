package server

import (
	"testing"

	"github.com/redis/go-redis/v9"
)

// The replies below were checked against Redis 7.0.

func TestBitSetGet(t *testing.T) {
	bothProtocols(t, func(t *testing.T, c *redis.Client) {
		kEq(t, c, int64(0), "setbit", "b", "7", "1")
		kEq(t, c, "\x01", "get", "b")
		kEq(t, c, int64(1), "setbit", "b", "7", "0")
		kEq(t, c, "\x00", "get", "b")
		kEq(t, c, int64(0), "setbit", "b", "0", "1")
		kEq(t, c, int64(0), "setbit", "b", "17", "1") // grows the string with zeros
		kEq(t, c, "\x80\x00\x40", "get", "b")
		kEq(t, c, int64(1), "getbit", "b", "0")
		kEq(t, c, int64(0), "getbit", "b", "1")
		kEq(t, c, int64(1), "getbit", "b", "17")
		kEq(t, c, int64(0), "getbit", "b", "4294967295") // past the end
		kEq(t, c, int64(0), "getbit", "nosuch", "3")
		kEq(t, c, int64(0), "setbit", "z", "15", "0") // setting a 0 still creates the key
		kEq(t, c, "\x00\x00", "get", "z")
		must(t, c, "set", "s", "foo")
		kEq(t, c, int64(1), "expire", "s", "100")
		kEq(t, c, int64(1), "setbit", "s", "1", "0") // 'f' = 0110 0110
		kEq(t, c, "&oo", "get", "s")
		kEq(t, c, int64(100), "ttl", "s") // SETBIT keeps the TTL
		kEq(t, c, int64(0), "setbit", "s", "1", "1")
		kEq(t, c, "foo", "get", "s")

		mustErr(t, c, errBitOffset, "setbit", "b", "-1", "1")
		mustErr(t, c, errBitOffset, "setbit", "b", "4294967296", "1")
		mustErr(t, c, errBitOffset, "setbit", "b", "x", "1")
		mustErr(t, c, errBitOffset, "setbit", "b", "x", "2") // offset checked first
		mustErr(t, c, errBitValue, "setbit", "b", "4294967295", "2")
		mustErr(t, c, errBitValue, "setbit", "b", "1", "-1")
		mustErr(t, c, errBitValue, "setbit", "b", "1", "x")
		mustErr(t, c, errBitOffset, "getbit", "b", "4294967296")
		mustErr(t, c, errBitOffset, "getbit", "b", "-1")
		mustErr(t, c, "ERR wrong number of arguments for 'setbit' command", "setbit", "b", "1")
		mustErr(t, c, "ERR wrong number of arguments for 'getbit' command", "getbit", "b")
		must(t, c, "hset", "h", "f", "v")
		mustErr(t, c, errWrongType, "setbit", "h", "1", "1")
		mustErr(t, c, errWrongType, "getbit", "h", "1")
		mustErr(t, c, errBitOffset, "setbit", "h", "x", "1") // arguments before the type
		kEq(t, c, "\x80\x00\x40", "get", "b")                // failed commands changed nothing
	})
}

func TestBitCount(t *testing.T) {
	bothProtocols(t, func(t *testing.T, c *redis.Client) {
		must(t, c, "set", "s", "foobar")
		kEq(t, c, int64(26), "bitcount", "s")
		kEq(t, c, int64(4), "bitcount", "s", "0", "0")
		kEq(t, c, int64(6), "bitcount", "s", "1", "1")
		kEq(t, c, int64(6), "bitcount", "s", "1", "1", "byte")
		kEq(t, c, int64(1), "bitcount", "s", "1", "1", "BIT")
		kEq(t, c, int64(17), "bitcount", "s", "5", "30", "bit")
		kEq(t, c, int64(26), "bitcount", "s", "-100", "100")
		kEq(t, c, int64(4), "bitcount", "s", "-1", "-1")
		kEq(t, c, int64(0), "bitcount", "s", "-1", "-2")
		kEq(t, c, int64(0), "bitcount", "s", "-1", "-2", "foo") // Redis answers before the unit
		kEq(t, c, int64(0), "bitcount", "s", "4", "2")
		kEq(t, c, int64(0), "bitcount", "s", "10", "20")
		kEq(t, c, int64(1), "bitcount", "s", "-3", "-1", "bit") // 'r' ends in 010
		kEq(t, c, int64(0), "bitcount", "nosuch")
		kEq(t, c, int64(0), "bitcount", "nosuch", "1") // a missing key answers before parsing
		must(t, c, "set", "e", "")
		kEq(t, c, int64(0), "bitcount", "e")
		kEq(t, c, int64(0), "bitcount", "e", "0", "-1")
		big := make([]byte, 100)
		for i := range big {
			big[i] = 0xff
		}
		must(t, c, "set", "big", string(big))
		kEq(t, c, int64(800), "bitcount", "big")
		kEq(t, c, int64(787), "bitcount", "big", "3", "789", "bit")
		mustErr(t, c, errSyntax, "bitcount", "s", "1")
		mustErr(t, c, errSyntax, "bitcount", "s", "0", "-1", "foo")
		mustErr(t, c, errSyntax, "bitcount", "s", "0", "-1", "bit", "x")
		mustErr(t, c, errNotInteger, "bitcount", "s", "x", "1")
		mustErr(t, c, errNotInteger, "bitcount", "s", "1", "x")
		mustErr(t, c, "ERR wrong number of arguments for 'bitcount' command", "bitcount")
		must(t, c, "hset", "h", "f", "v")
		mustErr(t, c, errWrongType, "bitcount", "h")
		mustErr(t, c, errWrongType, "bitcount", "h", "x")
	})
}

func TestBitPos(t *testing.T) {
	bothProtocols(t, func(t *testing.T, c *redis.Client) {
		must(t, c, "set", "s", "\xff\xf0\x00")
		kEq(t, c, int64(12), "bitpos", "s", "0")
		kEq(t, c, int64(0), "bitpos", "s", "1")
		kEq(t, c, int64(-1), "bitpos", "s", "1", "2")
		kEq(t, c, int64(16), "bitpos", "s", "0", "2")
		kEq(t, c, int64(12), "bitpos", "s", "0", "0", "-1")
		kEq(t, c, int64(-1), "bitpos", "s", "0", "0", "0") // explicit end: no zero padding
		kEq(t, c, int64(7), "bitpos", "s", "1", "7", "15", "bit")
		kEq(t, c, int64(8), "bitpos", "s", "1", "8", "15", "bit")
		kEq(t, c, int64(12), "bitpos", "s", "0", "7", "15", "BIT")
		kEq(t, c, int64(-1), "bitpos", "s", "0", "7", "11", "bit")
		kEq(t, c, int64(14), "bitpos", "s", "0", "14", "-1", "bit")
		kEq(t, c, int64(9), "bitpos", "s", "1", "-15", "-1", "bit")
		kEq(t, c, int64(-1), "bitpos", "s", "1", "5", "3")

		must(t, c, "set", "ones", "\xff\xff\xff")
		kEq(t, c, int64(24), "bitpos", "ones", "0") // past the end: the string is zero padded
		kEq(t, c, int64(24), "bitpos", "ones", "0", "1")
		kEq(t, c, int64(-1), "bitpos", "ones", "0", "0", "-1")
		kEq(t, c, int64(-1), "bitpos", "ones", "0", "3") // start past the end: empty range
		must(t, c, "set", "zeros", "\x00\x00\x00")
		kEq(t, c, int64(-1), "bitpos", "zeros", "1")
		kEq(t, c, int64(0), "bitpos", "zeros", "0")
		kEq(t, c, int64(10), "bitpos", "zeros", "0", "10", "20", "bit")
		must(t, c, "set", "e", "")
		kEq(t, c, int64(-1), "bitpos", "e", "0")
		kEq(t, c, int64(-1), "bitpos", "e", "1")
		kEq(t, c, int64(-1), "bitpos", "nosuch", "1")
		kEq(t, c, int64(0), "bitpos", "nosuch", "0")
		kEq(t, c, int64(-1), "bitpos", "nosuch", "1", "x") // a missing key answers before the range

		mustErr(t, c, "ERR The bit argument must be 1 or 0.", "bitpos", "s", "2")
		mustErr(t, c, "ERR The bit argument must be 1 or 0.", "bitpos", "nosuch", "-1")
		mustErr(t, c, errNotInteger, "bitpos", "s", "x")
		mustErr(t, c, errNotInteger, "bitpos", "s", "1", "x")
		mustErr(t, c, errNotInteger, "bitpos", "s", "1", "0", "x")
		mustErr(t, c, errSyntax, "bitpos", "s", "1", "0", "0", "foo")
		mustErr(t, c, errSyntax, "bitpos", "s", "1", "0", "0", "bit", "x")
		mustErr(t, c, "ERR wrong number of arguments for 'bitpos' command", "bitpos", "s")
		must(t, c, "hset", "h", "f", "v")
		mustErr(t, c, errWrongType, "bitpos", "h", "1")
	})
}

func TestBitOp(t *testing.T) {
	bothProtocols(t, func(t *testing.T, c *redis.Client) {
		must(t, c, "set", "a", "\xff\x0f\xaa")
		must(t, c, "set", "b", "\x0f\xff")
		kEq(t, c, int64(3), "bitop", "and", "d", "a", "b")
		kEq(t, c, "\x0f\x0f\x00", "get", "d")
		kEq(t, c, int64(3), "bitop", "OR", "d", "a", "b")
		kEq(t, c, "\xff\xff\xaa", "get", "d")
		kEq(t, c, int64(3), "bitop", "xor", "d", "a", "b", "b")
		kEq(t, c, "\xff\x0f\xaa", "get", "d")
		kEq(t, c, int64(3), "bitop", "xor", "d", "a", "b")
		kEq(t, c, "\xf0\xf0\xaa", "get", "d")
		kEq(t, c, int64(3), "bitop", "not", "d", "a")
		kEq(t, c, "\x00\xf0\x55", "get", "d")
		kEq(t, c, int64(3), "bitop", "and", "d", "a", "nosuch") // a missing key is all zeros
		kEq(t, c, "\x00\x00\x00", "get", "d")
		kEq(t, c, int64(3), "bitop", "or", "a", "a", "b") // the destination may be a source
		kEq(t, c, "\xff\xff\xaa", "get", "a")

		// The destination is overwritten whatever it held, and loses its TTL.
		must(t, c, "hset", "h", "f", "v")
		kEq(t, c, int64(1), "expire", "b", "100")
		kEq(t, c, int64(2), "bitop", "or", "h", "b")
		kEq(t, c, "\x0f\xff", "get", "h")
		kEq(t, c, int64(2), "bitop", "or", "b", "b")
		kEq(t, c, int64(-1), "ttl", "b")
		// An empty result deletes the destination.
		kEq(t, c, int64(0), "bitop", "and", "h", "nosuch")
		kEq(t, c, int64(0), "exists", "h")
		must(t, c, "hset", "h2", "f", "v")
		kEq(t, c, int64(0), "bitop", "not", "h2", "nosuch")
		kEq(t, c, "none", "type", "h2")
		must(t, c, "set", "e", "")
		kEq(t, c, int64(0), "bitop", "or", "d", "e")
		kEq(t, c, int64(0), "exists", "d")

		mustErr(t, c, errSyntax, "bitop", "nand", "d", "a")
		mustErr(t, c, "ERR BITOP NOT must be called with a single source key.", "bitop", "not", "d", "a", "b")
		mustErr(t, c, "ERR wrong number of arguments for 'bitop' command", "bitop", "and", "d")
		must(t, c, "hset", "h", "f", "v")
		mustErr(t, c, errWrongType, "bitop", "and", "d", "a", "h")
		mustErr(t, c, errWrongType, "bitop", "not", "d", "h")
		kEq(t, c, "hash", "type", "h")
	})
}

// BITOP's keys are the destination and every source, so the dispatcher locks them all.
func TestBitOpKeys(t *testing.T) {
	cmd := NewTable(bitCommands()).Lookup([]byte("BITOP"))
	keys := cmd.KeysOf([][]byte{[]byte("bitop"), []byte("and"), []byte("d"), []byte("a"), []byte("b")})
	if len(keys) != 3 || string(keys[0]) != "d" || string(keys[1]) != "a" || string(keys[2]) != "b" {
		t.Fatalf("bitop keys = %q", keys)
	}
}
