import ElaRegtest

await RegtestCommand.runMain()
