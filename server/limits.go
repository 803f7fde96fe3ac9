package server

import "net"

// limitListener wraps accepted connections so protocol limits are enforced before
// redcon buffers a request.
type limitListener struct {
	net.Listener
	srv *Server
}
