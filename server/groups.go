package server

// commandGroups lists every command group; each group lives in its own file.
func (s *Server) commandGroups() [][]*Command {
	return [][]*Command{
		connectionCommands(),
		stringCommands(),
		keyCommands(),
		hashCommands(),
		listCommands(),
		setCommands(),
		zsetCommands(),
		transactionCommands(),
		pubsubCommands(),
		serverCommands(),
	}
}

// readOnlyFor reports whether writes from c are refused (a read-only replica).
func (s *Server) readOnlyFor(c *Client) bool { return false }

// followersNeedFrom is the lowest binlog ID a connected follower has yet to receive.
func (s *Server) followersNeedFrom() uint64 { return ^uint64(0) }
