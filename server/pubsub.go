package server

import "net"

func pubsubCommands() []*Command { return nil }

// hub routes published messages to subscribers.
type hub struct{}

func (h *hub) init()                  {}
func (h *hub) removeClient(c *Client) {}

// pusher carries a subscribed client's replies and messages in order, from any goroutine.
type pusher struct {
	ch   chan []byte
	conn net.Conn
}

func (p *pusher) send(b []byte) {}
func (p *pusher) close()        {}
