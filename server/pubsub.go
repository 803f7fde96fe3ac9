package server

import (
	"net"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tidwall/redcon"
)

// Pub/Sub.
//
// redcon's connection writer belongs to the connection's goroutine, so a client that
// subscribes gets a pusher: a bounded queue of frames, written to the socket by one
// goroutine of its own, through which the client's replies leave too (Client.flush
// calls pusher.send). PUBLISH renders a frame per subscriber protocol and queues it
// without blocking; a subscriber whose queue passes the limit is disconnected, like
// Redis's pubsub client-output-buffer-limit.
//
// Ordering: SUBSCRIBE registers the client in the hub and puts a barrier in its queue
// under the hub's lock. Frames published after the registration wait behind the
// barrier until the connection flushes the subscribe confirmation (send), so a message
// never overtakes the reply that announces its subscription.

// Limits of a subscriber's queue: frames and bytes published but not yet written.
// Redis's default pubsub hard limit is 32MB.
const (
	pushMaxFrames = 1 << 16
	pushMaxBytes  = 32 << 20
	pushBatch     = 64 << 10 // frames are coalesced into writes of up to this size
)

// pushWriteTimeout disconnects a subscriber whose socket accepts nothing for this
// long while output is pending (in the spirit of Redis's pubsub soft limit, 8MB
// pending for 60s).
var pushWriteTimeout = 60 * time.Second

func pubsubCommands() []*Command {
	sub := FlagPubSub | FlagSubscribed | FlagNoScript | FlagStale
	ps := FlagPubSub | FlagStale
	return []*Command{
		{Name: "publish", Arity: 3, Flags: ps | FlagFast | FlagMayReplicate, Handler: cmdPublish, Group: "pubsub", Summary: "Posts a message to a channel.", Since: "2.0.0"},
		{Name: "subscribe", Arity: -2, Flags: sub, Handler: cmdSubscribe, Group: "pubsub", Summary: "Listens for messages published to channels.", Since: "2.0.0"},
		{Name: "unsubscribe", Arity: -1, Flags: sub, Handler: cmdUnsubscribe, Group: "pubsub", Summary: "Stops listening to messages posted to channels.", Since: "2.0.0"},
		{Name: "psubscribe", Arity: -2, Flags: sub, Handler: cmdPSubscribe, Group: "pubsub", Summary: "Listens for messages published to channels that match one or more patterns.", Since: "2.0.0"},
		{Name: "punsubscribe", Arity: -1, Flags: sub, Handler: cmdPUnsubscribe, Group: "pubsub", Summary: "Stops listening to messages published to channels that match one or more patterns.", Since: "2.0.0"},
		pubsubContainer(ps),
	}
}

// pubsubContainer builds PUBSUB and its subcommands on the shared container helper,
// with Redis's own PUBSUB HELP text.
func pubsubContainer(ps Flag) *Command {
	sub := func(name string, arity int, h func(*Ctx), summary, since string) *Command {
		return &Command{Name: name, Arity: arity, Flags: ps, Handler: h, Summary: summary, Since: since}
	}
	cmd := container(&Command{Name: "pubsub", Arity: -2, Flags: ps, Group: "pubsub", Summary: "A container for Pub/Sub commands.", Since: "2.8.0"},
		sub("channels", -2, cmdPubsubChannels, "Returns the active channels.", "2.8.0"),
		sub("numpat", 2, cmdPubsubNumpat, "Returns a count of unique pattern subscriptions.", "2.8.0"),
		sub("numsub", -2, cmdPubsubNumsub, "Returns a count of subscribers to channels.", "2.8.0"),
		sub("shardchannels", -2, cmdPubsubChannels, "Returns the active shard channels.", "7.0.0"),
		sub("shardnumsub", -2, cmdPubsubNumsub, "Returns the count of subscribers of shard channels.", "7.0.0"),
	)
	for _, s := range cmd.Subcommands {
		if s.Name == "pubsub|help" {
			s.Handler = cmdPubsubHelp
			s.Flags |= ps
			s.Since = "6.2.0"
		}
	}
	return cmd
}

// hub routes published messages to subscribers.
type hub struct {
	mu       sync.RWMutex
	n        atomic.Int64 // subscriptions of all clients, so PUBLISH to nobody costs nothing
	channels map[string]map[*Client]struct{}
	patterns map[string]*patternSubs
}

type patternSubs struct {
	pat     []byte
	clients map[*Client]struct{}
}

func (h *hub) init() {
	h.channels = map[string]map[*Client]struct{}{}
	h.patterns = map[string]*patternSubs{}
}

// add subscribes c to a channel or pattern; it reports false when it already was.
// The caller holds h.mu.
func (h *hub) add(c *Client, name string, pattern bool) bool {
	if pattern {
		if _, ok := c.psubs[name]; ok {
			return false
		}
		if c.psubs == nil {
			c.psubs = map[string]struct{}{}
		}
		c.psubs[name] = struct{}{}
		ps := h.patterns[name]
		if ps == nil {
			ps = &patternSubs{pat: []byte(name), clients: map[*Client]struct{}{}}
			h.patterns[name] = ps
		}
		ps.clients[c] = struct{}{}
	} else {
		if _, ok := c.subs[name]; ok {
			return false
		}
		if c.subs == nil {
			c.subs = map[string]struct{}{}
		}
		c.subs[name] = struct{}{}
		set := h.channels[name]
		if set == nil {
			set = map[*Client]struct{}{}
			h.channels[name] = set
		}
		set[c] = struct{}{}
	}
	h.n.Add(1)
	return true
}

// remove unsubscribes c from a channel or pattern; false when it was not subscribed.
// The caller holds h.mu.
func (h *hub) remove(c *Client, name string, pattern bool) bool {
	if pattern {
		if _, ok := c.psubs[name]; !ok {
			return false
		}
		delete(c.psubs, name)
		if ps := h.patterns[name]; ps != nil {
			delete(ps.clients, c)
			if len(ps.clients) == 0 {
				delete(h.patterns, name)
			}
		}
	} else {
		if _, ok := c.subs[name]; !ok {
			return false
		}
		delete(c.subs, name)
		if set := h.channels[name]; set != nil {
			delete(set, c)
			if len(set) == 0 {
				delete(h.channels, name)
			}
		}
	}
	h.n.Add(-1)
	return true
}

// removeClient drops every subscription of c (disconnect, RESET). Its pusher, if
// any, is retired by the next send or by pusher.close.
func (h *hub) removeClient(c *Client) {
	if len(c.subs) == 0 && len(c.psubs) == 0 {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for name := range c.subs {
		h.remove(c, name, false)
	}
	for name := range c.psubs {
		h.remove(c, name, true)
	}
	c.subs, c.psubs = nil, nil
}

// counts returns how many channels and patterns c is subscribed to; safe from any
// goroutine (CLIENT LIST).
func (h *hub) counts(c *Client) (channels, patterns int) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return len(c.subs), len(c.psubs)
}

// publish delivers msg to the subscribers of channel and of the patterns matching it
// and returns how many deliveries it made. from is the publishing command.
func (h *hub) publish(from *Ctx, channel, msg []byte) int64 {
	if h.n.Load() == 0 {
		return 0
	}
	var n int64
	var frame frames
	h.mu.RLock()
	defer h.mu.RUnlock()
	if set := h.channels[string(channel)]; len(set) > 0 {
		frame.render("message", nil, channel, msg)
		for c := range set {
			deliver(from, c, &frame)
			n++
		}
	}
	for _, ps := range h.patterns {
		if !globMatch(ps.pat, channel, false) {
			continue
		}
		var pframe frames
		pframe.render("pmessage", ps.pat, channel, msg)
		for c := range ps.clients {
			deliver(from, c, &pframe)
			n++
		}
	}
	return n
}

// frames is one published message rendered for both protocols: the RESP2 array and
// the RESP3 push differ only in their first byte.
type frames struct{ resp2, resp3 []byte }

func (f *frames) render(kind string, pattern, channel, msg []byte) {
	n := 3
	if pattern != nil {
		n = 4
	}
	w := Writer{proto: 2, buf: make([]byte, 0, 64+len(pattern)+len(channel)+len(msg))}
	w.Array(n)
	w.BulkString(kind)
	if pattern != nil {
		w.Bulk(pattern)
	}
	w.Bulk(channel)
	w.Bulk(msg)
	f.resp2 = w.buf
}

func (f *frames) get(proto int32) []byte {
	if proto < 3 {
		return f.resp2
	}
	if f.resp3 == nil {
		f.resp3 = append([]byte(nil), f.resp2...)
		f.resp3[0] = '>'
	}
	return f.resp3
}

// deliver hands one frame to subscriber c. The publisher's own subscription is served
// in its reply stream, so the message comes before PUBLISH's reply, as in Redis.
func deliver(from *Ctx, c *Client, f *frames) {
	if from != nil && c == from.Client && !from.InExec {
		c.W.Raw(f.get(int32(c.W.proto)))
		return
	}
	p := c.pusher
	if p == nil {
		return
	}
	if !p.deliver(f.get(p.proto.Load())) {
		c.kill()
	}
}

func cmdPublish(c *Ctx) {
	c.W.Int(c.srv.pubsub.publish(c, c.Args[1], c.Args[2]))
}

func cmdSubscribe(c *Ctx)   { c.subscribe(c.Args[1:], false) }
func cmdPSubscribe(c *Ctx)  { c.subscribe(c.Args[1:], true) }
func cmdUnsubscribe(c *Ctx) { c.unsubscribe(c.Args[1:], false) }
func cmdPUnsubscribe(c *Ctx) {
	c.unsubscribe(c.Args[1:], true)
}

func (c *Ctx) subscribe(names [][]byte, pattern bool) {
	kind := "subscribe"
	if pattern {
		kind = "psubscribe"
	}
	p := c.startPusher()
	h := &c.srv.pubsub
	h.mu.Lock()
	for _, name := range names {
		h.add(c.Client, string(name), pattern)
		c.W.Push(3)
		c.W.BulkString(kind)
		c.W.Bulk(name)
		c.W.Int(int64(len(c.subs) + len(c.psubs)))
	}
	// Messages for the new subscriptions wait until the confirmations are flushed.
	p.barrier()
	h.mu.Unlock()
}

func (c *Ctx) unsubscribe(names [][]byte, pattern bool) {
	kind := "unsubscribe"
	if pattern {
		kind = "punsubscribe"
	}
	h := &c.srv.pubsub
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(names) == 0 {
		set := c.subs
		if pattern {
			set = c.psubs
		}
		if len(set) == 0 {
			c.W.Push(3)
			c.W.BulkString(kind)
			c.W.Null()
			c.W.Int(int64(len(c.subs) + len(c.psubs)))
			return
		}
		all := make([]string, 0, len(set))
		for name := range set {
			all = append(all, name)
		}
		sort.Strings(all)
		for _, name := range all {
			h.remove(c.Client, name, pattern)
			c.W.Push(3)
			c.W.BulkString(kind)
			c.W.BulkString(name)
			c.W.Int(int64(len(c.subs) + len(c.psubs)))
		}
		return
	}
	for _, name := range names {
		h.remove(c.Client, string(name), pattern)
		c.W.Push(3)
		c.W.BulkString(kind)
		c.W.Bulk(name)
		c.W.Int(int64(len(c.subs) + len(c.psubs)))
	}
}

var pubsubHelp = []string{
	"PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
	"CHANNELS [<pattern>]",
	"    Return the currently active channels matching a <pattern> (default: '*').",
	"NUMPAT",
	"    Return number of subscriptions to patterns.",
	"NUMSUB [<channel> ...]",
	"    Return the number of subscribers for the specified channels, excluding",
	"    pattern subscriptions(default: no channels).",
	"SHARDCHANNELS [<pattern>]",
	"    Return the currently active shard level channels matching a <pattern> (default: '*').",
	"SHARDNUMSUB [<shardchannel> ...]",
	"    Return the number of subscribers for the specified shard level channel(s)",
	"HELP",
	"    Prints this help.",
}

// cmdPubsubChannels is PUBSUB CHANNELS [pattern] (and SHARDCHANNELS: Strata has no
// shard channels, so always empty).
func cmdPubsubChannels(c *Ctx) {
	if len(c.Args) > 3 {
		c.Error("ERR unknown subcommand or wrong number of arguments for '" + truncArg(c.Args[1]) + "'. Try PUBSUB HELP.")
		return
	}
	var out []string
	if argIs(c.Args[1], "channels") {
		h := &c.srv.pubsub
		h.mu.RLock()
		for name := range h.channels {
			if len(c.Args) == 2 || globMatch(c.Args[2], []byte(name), false) {
				out = append(out, name)
			}
		}
		h.mu.RUnlock()
	}
	sort.Strings(out)
	c.W.BulkStrings(out)
}

// cmdPubsubNumsub is PUBSUB NUMSUB [channel ...] (and SHARDNUMSUB, always 0).
func cmdPubsubNumsub(c *Ctx) {
	shard := argIs(c.Args[1], "shardnumsub")
	names := c.Args[2:]
	h := &c.srv.pubsub
	c.W.Array(2 * len(names))
	h.mu.RLock()
	for _, name := range names {
		c.W.Bulk(name)
		if shard {
			c.W.Int(0)
		} else {
			c.W.Int(int64(len(h.channels[string(name)])))
		}
	}
	h.mu.RUnlock()
}

// cmdPubsubNumpat is PUBSUB NUMPAT: the number of distinct patterns subscribed to.
func cmdPubsubNumpat(c *Ctx) {
	h := &c.srv.pubsub
	h.mu.RLock()
	n := len(h.patterns)
	h.mu.RUnlock()
	c.W.Int(int64(n))
}

func cmdPubsubHelp(c *Ctx) {
	c.W.Array(len(pubsubHelp))
	for _, line := range pubsubHelp {
		c.W.Simple(line)
	}
}

// pusher carries a subscribed client's replies and messages in order, from any
// goroutine. Publishers queue frames (deliver); the connection's goroutine writes its
// replies synchronously (send), after the frames queued before them; a goroutine of
// the pusher's own writes frames that arrive while the connection is idle.
type pusher struct {
	c     *Client
	conn  net.Conn
	proto atomic.Int32 // protocol frames are rendered in (updated by send)

	mu     sync.Mutex
	queue  [][]byte // frames not yet taken by a writer; nil entries are barriers
	spare  [][]byte
	qbytes int  // bytes queued or being written
	dead   bool // over the limit or the connection failed: frames are dropped

	wmu     sync.Mutex // held by whoever writes to conn; keeps frames in order
	scratch []byte     // coalescing buffer, used under wmu

	wake    chan struct{}
	quit    chan struct{}
	stopped atomic.Bool
	once    sync.Once
}

// startPusher gives the client its pusher, first flushing whatever redcon still holds
// for the connection so earlier replies keep their place.
func (c *Ctx) startPusher() *pusher {
	if c.pusher != nil {
		return c.pusher
	}
	if c.conn != nil {
		if bw := redcon.BaseWriter(c.conn); bw != nil {
			_ = bw.Flush()
		}
	}
	p := &pusher{
		c:    c.Client,
		conn: c.netConn,
		wake: make(chan struct{}, 1),
		quit: make(chan struct{}),
	}
	p.proto.Store(int32(c.W.proto))
	c.pusher = p
	go p.run()
	return p
}

// deliver queues a published frame without blocking. It reports false when the
// subscriber is over its limit; the caller disconnects it.
func (p *pusher) deliver(frame []byte) bool {
	p.mu.Lock()
	if p.dead {
		p.mu.Unlock()
		return true
	}
	if len(p.queue) >= pushMaxFrames || p.qbytes+len(frame) > pushMaxBytes {
		p.dead = true
		clear(p.queue)
		p.queue = nil
		p.mu.Unlock()
		return false
	}
	p.queue = append(p.queue, frame)
	p.qbytes += len(frame)
	p.mu.Unlock()
	select {
	case p.wake <- struct{}{}:
	default:
	}
	return true
}

// barrier holds back frames queued after it until the next send.
func (p *pusher) barrier() {
	p.mu.Lock()
	if !p.dead {
		p.queue = append(p.queue, nil)
	}
	p.mu.Unlock()
}

// send writes the connection's replies b (from the connection's goroutine only): the
// frames queued before the first barrier go first, the held-back ones after. When the
// client is no longer subscribed the pusher retires and replies go back to redcon.
func (p *pusher) send(b []byte) {
	c := p.c
	p.proto.Store(int32(c.W.proto))
	retire := !c.subscribed() && !c.monitoring.Load()
	p.wmu.Lock()
	p.mu.Lock()
	k := 0
	for k < len(p.queue) && p.queue[k] != nil {
		k++
	}
	before := p.queue[:k]
	var after [][]byte
	for _, f := range p.queue[k:] {
		if f != nil {
			after = append(after, f)
		}
	}
	p.queue, p.spare = p.spare[:0], before
	dead := p.dead
	p.mu.Unlock()

	written := p.write(before)
	clear(before)
	if !dead {
		p.writeDirect(b)
	}
	if retire {
		// Unsubscribed from everything: nothing can be queued any more (the hub no
		// longer knows the client), so write the rest and hand back to redcon.
		p.write(after)
		_ = p.conn.SetWriteDeadline(time.Time{})
		p.stopped.Store(true)
		p.once.Do(func() { close(p.quit) })
		c.pusher = nil
		p.wmu.Unlock()
		return
	}
	p.mu.Lock()
	p.qbytes -= written
	if len(after) > 0 {
		p.queue = append(after, p.queue...)
	}
	p.mu.Unlock()
	p.wmu.Unlock()
	if len(after) > 0 {
		select {
		case p.wake <- struct{}{}:
		default:
		}
	}
}

// close stops the pusher's goroutine; frames still queued are dropped (the
// connection is gone).
func (p *pusher) close() {
	p.stopped.Store(true)
	p.once.Do(func() { close(p.quit) })
	p.mu.Lock()
	p.dead = true
	clear(p.queue)
	p.queue = nil
	p.mu.Unlock()
}

// run writes frames queued while the connection's goroutine is not sending.
func (p *pusher) run() {
	for {
		select {
		case <-p.wake:
		case <-p.quit:
			return
		}
		p.wmu.Lock()
		if p.stopped.Load() {
			p.wmu.Unlock()
			return
		}
		p.mu.Lock()
		k := 0
		for k < len(p.queue) && p.queue[k] != nil {
			k++
		}
		var batch [][]byte
		if k == len(p.queue) {
			batch = p.queue
			p.queue, p.spare = p.spare[:0], batch
		} else {
			batch = append([][]byte(nil), p.queue[:k]...)
			p.queue = append(p.queue[:0], p.queue[k:]...)
		}
		p.mu.Unlock()
		written := p.write(batch)
		clear(batch)
		p.mu.Lock()
		p.qbytes -= written
		p.mu.Unlock()
		p.wmu.Unlock()
	}
}

// write writes frames, coalescing small ones; it returns their total size. A failed
// write kills the client. The caller holds wmu.
func (p *pusher) write(frames [][]byte) int {
	total := 0
	buf := p.scratch[:0]
	for _, f := range frames {
		total += len(f)
		if len(buf)+len(f) > pushBatch && len(buf) > 0 {
			p.writeDirect(buf)
			buf = buf[:0]
		}
		if len(f) > pushBatch {
			p.writeDirect(f)
			continue
		}
		buf = append(buf, f...)
	}
	if len(buf) > 0 {
		p.writeDirect(buf)
	}
	p.scratch = buf[:0]
	return total
}

func (p *pusher) writeDirect(b []byte) {
	if len(b) == 0 {
		return
	}
	p.mu.Lock()
	dead := p.dead
	p.mu.Unlock()
	if dead {
		return
	}
	_ = p.conn.SetWriteDeadline(time.Now().Add(pushWriteTimeout))
	if _, err := p.conn.Write(b); err != nil {
		p.mu.Lock()
		p.dead = true
		p.mu.Unlock()
		p.c.kill()
	}
}
