import ElaCLI

Elactl.runMain()
