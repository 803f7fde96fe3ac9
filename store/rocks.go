package store

import "github.com/linxGnu/grocksdb"

func grockWriteBatchFrom(rep []byte) *grocksdb.WriteBatch { return grocksdb.WriteBatchFrom(rep) }
