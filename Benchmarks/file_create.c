// What creating one payload file costs the kernel, apart from Ferry: N files of 5,900 bytes (a typical
// payload) written into an empty directory, three ways.
//
//   0: a temporary name, then rename(2) over the final name (FileSystem.writeRenamingTemporary)
//   1: open(2) with O_TMPFILE, then linkat(2) of its /proc/self/fd path to the final name (atomic too,
//      Linux only; UnnamedFile's naming when AT_EMPTY_PATH is refused)
//   2: the final name directly (not atomic: a reader can see a half-written file)
//   3: open(2) with O_TMPFILE, then linkat(2) of the descriptor itself (AT_EMPTY_PATH) to the final name
//      (UnnamedFile's first choice; Linux 6.10 or CAP_DAC_READ_SEARCH)
//   4: mode 3 with whole paths, as Ferry calls it (the others work relative to an open directory)
//
//   cc -O2 Benchmarks/file_create.c -o /tmp/file_create
//   for mode in 0 1 2 3 4; do rm -rf /dev/shm/fc && mkdir /dev/shm/fc && taskset -c 0 /tmp/file_create $mode /dev/shm/fc 20000; done
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static void fail(const char *what) {
    perror(what);
    exit(1);
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: %s MODE(0|1|2|3|4) EMPTY-DIRECTORY COUNT\n", argv[0]);
        return 64;
    }
    int mode = atoi(argv[1]);
    int count = atoi(argv[3]);
    int directory = open(argv[2], O_DIRECTORY | O_RDONLY);
    if (directory < 0) fail("open directory");
    char payload[5900];
    memset(payload, 'x', sizeof payload);
    char name[64], temporary[80], link[64], path[4096];
    double start = now();
    for (int i = 0; i < count; i++) {
        snprintf(name, sizeof name, "RK%010d.json", i);
        int fd;
        if (mode == 0) {
            snprintf(temporary, sizeof temporary, ".%s.tmp", name);
            fd = openat(directory, temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        } else if (mode == 1 || mode == 3) {
            fd = openat(directory, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, 0644);
        } else if (mode == 4) {
            snprintf(path, sizeof path, "%s/%s", argv[2], name);
            fd = open(argv[2], O_TMPFILE | O_WRONLY | O_CLOEXEC, 0644);
        } else {
            fd = openat(directory, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        }
        if (fd < 0) fail("open");
        if (write(fd, payload, sizeof payload) != (ssize_t)sizeof payload) fail("write");
        if (mode == 1) {
            snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
            if (linkat(AT_FDCWD, link, directory, name, AT_SYMLINK_FOLLOW) != 0) fail("linkat");
        } else if (mode == 3) {
            if (linkat(fd, "", directory, name, AT_EMPTY_PATH) != 0) fail("linkat");
        } else if (mode == 4) {
            if (linkat(fd, "", AT_FDCWD, path, AT_EMPTY_PATH) != 0) fail("linkat");
        }
        if (close(fd) != 0) fail("close");
        if (mode == 0 && renameat(directory, temporary, directory, name) != 0) fail("rename");
    }
    printf("mode %d: %.2f us per file\n", mode, (now() - start) / count * 1e6);
    return 0;
}
