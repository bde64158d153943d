print("elactl: not yet")
