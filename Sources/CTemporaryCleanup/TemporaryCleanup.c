#include "CTemporaryCleanup.h"

#include <limits.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

enum { SLOT_COUNT = 64, FREE = 0, BUSY = 1, REGISTERED = 2 };

// Each slot's state is (generation << 2) | status. The generation changes on every registration,
// so a handler that copied a path while another thread reused the slot sees the state change and
// skips the torn copy instead of unlinking a path nobody registered.
static char paths[SLOT_COUNT][PATH_MAX];
static atomic_uint states[SLOT_COUNT];
static atomic_int installed;

int lorakit_temporary_register(const char *path) {
    size_t length = strlen(path);
    if (length >= PATH_MAX) return -1;
    for (int slot = 0; slot < SLOT_COUNT; slot++) {
        unsigned state = atomic_load(&states[slot]);
        if ((state & 3u) != FREE) continue;
        unsigned busy = ((state >> 2) + 1) << 2 | BUSY;
        if (!atomic_compare_exchange_strong(&states[slot], &state, busy)) continue;
        memcpy(paths[slot], path, length + 1);
        atomic_store(&states[slot], (busy & ~3u) | REGISTERED);
        return slot;
    }
    return -1;
}

void lorakit_temporary_unregister(int slot) {
    if (slot < 0 || slot >= SLOT_COUNT) return;
    unsigned state = atomic_load(&states[slot]);
    atomic_store(&states[slot], (state & ~3u) | FREE);
}

static void remove_temporaries_and_exit(int signal_number) {
    char copy[PATH_MAX];
    // Files first, then directories (rmdir removes only the empty ones a writer created).
    for (int pass = 0; pass < 2; pass++) {
        for (int slot = 0; slot < SLOT_COUNT; slot++) {
            unsigned state = atomic_load(&states[slot]);
            if ((state & 3u) != REGISTERED) continue;
            memcpy(copy, paths[slot], PATH_MAX);
            copy[PATH_MAX - 1] = 0;
            if (atomic_load(&states[slot]) != state) continue;
            if (pass == 0) unlink(copy); else rmdir(copy);
        }
    }
    _exit(128 + signal_number);
}

void lorakit_temporary_install_signal_handlers(void) {
    int expected = 0;
    if (!atomic_compare_exchange_strong(&installed, &expected, 1)) return;
    const int signals[] = {SIGINT, SIGTERM, SIGHUP};
    for (size_t i = 0; i < sizeof signals / sizeof signals[0]; i++) {
        struct sigaction previous;
        if (sigaction(signals[i], NULL, &previous) == 0 && previous.sa_handler == SIG_IGN) continue;
        struct sigaction action;
        memset(&action, 0, sizeof action);
        action.sa_handler = remove_temporaries_and_exit;
        sigfillset(&action.sa_mask);  // one handler at a time: a second signal waits for the exit
        sigaction(signals[i], &action, NULL);
    }
}
