package store

import (
	"math"
	"strconv"
)

// MaxStringSize bounds string values (Redis's proto-max-bulk-len default).
const MaxStringSize = 512 << 20

// GetString returns the value of a string key; ok is false when it does not exist.
func (tx *Tx) GetString(db int, key []byte) (val []byte, ok bool, err error) {
	k, err := tx.LoadType(db, key, TypeString)
	if err != nil {
		return nil, false, err
	}
	if !k.Exists() {
		return nil, false, nil
	}
	return k.Meta.Value, true, nil
}

// SetOptions are SET's modifiers.
type SetOptions struct {
	NX, XX   bool
	KeepTTL  bool
	Get      bool  // return the old value; the old value must be a string
	ExpireAt int64 // unix ms; 0 = no expiry
}

// SetResult reports what SET did.
type SetResult struct {
	Applied   bool
	Old       []byte
	OldExists bool
}

// Set writes a string value, replacing whatever the key held.
func (tx *Tx) Set(db int, key, val []byte, o SetOptions) (SetResult, error) {
	var r SetResult
	k, err := tx.Load(db, key)
	if err != nil {
		return r, err
	}
	if o.Get && k.Exists() {
		if k.Meta.Type != TypeString {
			return r, ErrWrongType
		}
		r.Old, r.OldExists = k.Meta.Value, true
	}
	if (o.NX && k.Exists()) || (o.XX && !k.Exists()) {
		return r, nil
	}
	keep := int64(0)
	if o.KeepTTL {
		keep = k.Meta.ExpireAt
	}
	tx.Reset(k, TypeString)
	k.Meta.Value = val
	k.Meta.ExpireAt = o.ExpireAt
	if o.KeepTTL {
		k.Meta.ExpireAt = keep
	}
	tx.Save(k)
	r.Applied = true
	return r, nil
}

// IncrBy adds delta to the integer stored at key (0 when missing).
func (tx *Tx) IncrBy(db int, key []byte, delta int64) (int64, error) {
	k, err := tx.LoadType(db, key, TypeString)
	if err != nil {
		return 0, err
	}
	var cur int64
	if k.Exists() {
		cur, err = parseStoredInt(k.Meta.Value)
		if err != nil {
			return 0, err
		}
	}
	if (delta > 0 && cur > math.MaxInt64-delta) || (delta < 0 && cur < math.MinInt64-delta) {
		return 0, ErrOverflow
	}
	cur += delta
	exp := k.Meta.ExpireAt
	tx.Reset(k, TypeString)
	k.Meta.Value = strconv.AppendInt(nil, cur, 10)
	k.Meta.ExpireAt = exp
	tx.Save(k)
	return cur, nil
}

// IncrByFloat adds delta to the float stored at key and returns the new text, formatted
// as Redis does (no exponent, no trailing zeros), which is also what gets stored.
func (tx *Tx) IncrByFloat(db int, key []byte, delta float64) ([]byte, error) {
	k, err := tx.LoadType(db, key, TypeString)
	if err != nil {
		return nil, err
	}
	var cur float64
	if k.Exists() {
		cur, err = ParseStoredFloat(k.Meta.Value)
		if err != nil {
			return nil, err
		}
	}
	cur += delta
	if math.IsNaN(cur) || math.IsInf(cur, 0) {
		return nil, ErrNaN
	}
	exp := k.Meta.ExpireAt
	tx.Reset(k, TypeString)
	k.Meta.Value = FormatFloat(cur)
	k.Meta.ExpireAt = exp
	tx.Save(k)
	return k.Meta.Value, nil
}

// FormatFloat renders a float the way INCRBYFLOAT and HINCRBYFLOAT reply with it.
func FormatFloat(f float64) []byte {
	// Redis prints a long double with %.17Lf and trims trailing zeros; a float64 has
	// fewer digits, so the shortest representation that reads back is the faithful one.
	return strconv.AppendFloat(nil, f, 'f', -1, 64)
}

// parseStoredInt parses a stored string as Redis's string2ll does.
func parseStoredInt(b []byte) (int64, error) {
	if len(b) == 0 || len(b) > 20 || b[0] == '+' || b[0] == ' ' || b[len(b)-1] == ' ' {
		return 0, ErrNotInteger
	}
	if len(b) > 1 && (b[0] == '0' || (b[0] == '-' && b[1] == '0')) {
		return 0, ErrNotInteger
	}
	n, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil {
		return 0, ErrNotInteger
	}
	return n, nil
}

// ParseStoredFloat parses a stored string as a float for the *INCRBYFLOAT commands.
func ParseStoredFloat(b []byte) (float64, error) {
	if len(b) == 0 || len(b) > 5000 || b[0] == ' ' || b[len(b)-1] == ' ' {
		return 0, ErrNotFloat
	}
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil || math.IsNaN(f) {
		return 0, ErrNotFloat
	}
	return f, nil
}

// Append appends to a string, creating it when missing; returns the new length.
func (tx *Tx) Append(db int, key, val []byte) (int, error) {
	k, err := tx.LoadType(db, key, TypeString)
	if err != nil {
		return 0, err
	}
	var cur []byte
	exp := int64(0)
	if k.Exists() {
		cur, exp = k.Meta.Value, k.Meta.ExpireAt
	}
	if len(cur)+len(val) > MaxStringSize {
		return 0, ErrTooLarge
	}
	nv := make([]byte, 0, len(cur)+len(val))
	nv = append(append(nv, cur...), val...)
	tx.Reset(k, TypeString)
	k.Meta.Value = nv
	k.Meta.ExpireAt = exp
	tx.Save(k)
	return len(nv), nil
}
