package store

import (
	"math"
	"math/big"
	"strconv"
	"strings"
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

// IncrByFloat adds incr (decimal text) to the number stored at key, as INCRBYFLOAT does,
// and returns the new text, which is also what gets stored.
func (tx *Tx) IncrByFloat(db int, key []byte, incr []byte) ([]byte, error) {
	k, err := tx.LoadType(db, key, TypeString)
	if err != nil {
		return nil, err
	}
	var cur []byte
	if k.Exists() {
		cur = k.Meta.Value
	}
	v, err := AddFloat(cur, incr, ErrNotFloat)
	if err != nil {
		return nil, err
	}
	exp := k.Meta.ExpireAt
	tx.Reset(k, TypeString)
	k.Meta.Value = v
	k.Meta.ExpireAt = exp
	tx.Save(k)
	return v, nil
}

// Redis computes INCRBYFLOAT and HINCRBYFLOAT in the x87 long double: a 64-bit
// mantissa and a 15-bit exponent. Doing the same here makes 0.1 + 0.2 come out as 0.3,
// as it does in Redis, where float64 arithmetic would give 0.30000000000000004.
const (
	longDoublePrec   = 64
	longDoubleMaxExp = 16384
)

// parseLongDouble parses decimal text as strtold does (no spaces; inf accepted).
func parseLongDouble(b []byte) (*big.Float, bool) {
	if len(b) == 0 || len(b) > 5000 || b[0] == ' ' || b[len(b)-1] == ' ' {
		return nil, false
	}
	text, base := string(b), 10
	if t := strings.TrimLeft(text, "+-"); len(t) > 2 && t[0] == '0' && (t[1] == 'x' || t[1] == 'X') && !strings.Contains(t, "_") {
		base = 0 // strtold reads hexadecimal floats too
	}
	f, _, err := big.ParseFloat(text, base, longDoublePrec, big.ToNearestEven)
	if err != nil {
		return nil, false
	}
	if !f.IsInf() && f.MantExp(nil) > longDoubleMaxExp {
		f.SetInf(f.Sign() < 0)
	}
	return f, true
}

// AddFloat adds the decimal numbers cur (nil = 0) and incr in long double precision and
// formats the sum as Redis does (%.17Lf without trailing zeros). A stored value that is
// not a number gives notFloat; an increment that is not one gives ErrNotFloat.
func AddFloat(cur, incr []byte, notFloat error) ([]byte, error) {
	in, ok := parseLongDouble(incr)
	if !ok {
		return nil, ErrNotFloat
	}
	sum := new(big.Float).SetPrec(longDoublePrec).SetMode(big.ToNearestEven)
	if cur != nil {
		c, ok := parseLongDouble(cur)
		if !ok {
			return nil, notFloat
		}
		sum.Set(c)
	}
	if in.IsInf() || sum.IsInf() {
		return nil, ErrNaN
	}
	sum.Add(sum, in)
	if sum.IsInf() || sum.MantExp(nil) > longDoubleMaxExp {
		return nil, ErrNaN
	}
	out := sum.Text('f', 17)
	if strings.Contains(out, ".") {
		out = strings.TrimRight(out, "0")
		out = strings.TrimSuffix(out, ".")
	}
	if out == "-0" {
		out = "0"
	}
	return []byte(out), nil
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
