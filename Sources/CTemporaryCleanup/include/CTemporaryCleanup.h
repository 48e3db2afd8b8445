#ifndef C_TEMPORARY_CLEANUP_H
#define C_TEMPORARY_CLEANUP_H

/// A registry of temporary files that SIGINT, SIGTERM and SIGHUP remove before the process exits
/// with 128 + the signal's number. Written in C so that the handler provably does nothing but
/// atomic loads, memcpy, unlink and _exit (all async-signal-safe).

/// Records `path`, a file that may not exist yet or a directory that the handler removes when it
/// is empty (after every registered file); returns its slot, or -1 when the path is too
/// long or every slot is taken (the file is then only removed by its writer's own error path).
int lorakit_temporary_register(const char *path);

/// Forgets the path in `slot` (a no-op for -1), once the file is renamed into place or removed.
void lorakit_temporary_unregister(int slot);

/// Installs the handler for SIGINT, SIGTERM and SIGHUP, except for a signal the process was
/// started with ignored (as `nohup` leaves SIGHUP). Calling it again changes nothing.
void lorakit_temporary_install_signal_handlers(void);

#endif
