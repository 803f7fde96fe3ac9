package server

func zsetCommands() []*Command { return nil }
