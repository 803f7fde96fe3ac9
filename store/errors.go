package store

import (
	"errors"
	"fmt"
)

// Sentinel errors of the store. Callers test them with errors.Is.
var (
	// ErrWrongType: the key holds a value of another type.
	ErrWrongType = errors.New("store: wrong type")
	// ErrCorrupt marks data that cannot be decoded.
	ErrCorrupt = errors.New("store: corrupt data")
	// ErrNewerFormat: the data directory was written by a newer Strata.
	ErrNewerFormat = errors.New("store: data directory uses a newer format")
	// ErrClosed: the store has been closed.
	ErrClosed = errors.New("store: closed")
	// ErrNotInteger: the stored value or increment is not an integer.
	ErrNotInteger = errors.New("store: value is not an integer or out of range")
	// ErrNotFloat: the stored value or increment is not a valid float.
	ErrNotFloat = errors.New("store: value is not a valid float")
	// ErrOverflow: an increment or decrement would overflow.
	ErrOverflow = errors.New("store: increment or decrement would overflow")
	// ErrNaN: the operation would produce NaN or Infinity.
	ErrNaN = errors.New("store: increment would produce NaN or Infinity")
	// ErrNoSuchKey: the command needs an existing key.
	ErrNoSuchKey = errors.New("store: no such key")
	// ErrIndexOutOfRange: a list index outside the list.
	ErrIndexOutOfRange = errors.New("store: index out of range")
	// ErrTooLarge: the result would exceed the size limit (e.g. SETRANGE past 512MB).
	ErrTooLarge = errors.New("store: string exceeds maximum allowed size")
)

func corruptf(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrCorrupt}, args...)...)
}

// IsCorruption reports whether err marks undecodable stored data.
func IsCorruption(err error) bool { return errors.Is(err, ErrCorrupt) }
