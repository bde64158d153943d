import ElaDaemon

await AgentCommand.runMain()
