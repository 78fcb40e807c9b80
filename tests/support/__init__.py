"""What test modules share: fakes, clocks, emulator clients and runners. No tests live here."""
