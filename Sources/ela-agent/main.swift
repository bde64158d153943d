print("ela-agent: not yet")
