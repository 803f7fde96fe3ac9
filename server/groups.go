package server

// commandGroups lists every command group; each group lives in its own file.
func (s *Server) commandGroups() [][]*Command {
	return [][]*Command{
		connectionCommands(),
		stringCommands(),
		keyCommands(),
		sortCommands(),
		hashCommands(),
		listCommands(),
		setCommands(),
		zsetCommands(),
		transactionCommands(),
		pubsubCommands(),
		serverCommands(),
		monitorCommands(),
		replicationCommands(),
		snapshotCommands(),
	}
}
