import CTemporaryCleanup

/// What happens to ``StagedFiles``'s temporaries when the process is interrupted.
public enum TemporaryFiles {
    /// Installs handlers for SIGINT, SIGTERM and SIGHUP that delete every temporary being written
    /// and exit with status 128 + the signal's number (130, 143, 129). Files already renamed into
    /// place stay. A signal the process was started with ignored stays ignored.
    public static func removeOnInterrupt() {
        lorakit_temporary_install_signal_handlers()
    }
}
