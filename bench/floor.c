/*
 * bench/floor.c: the floor for reading a classic pcap file.
 *
 * Reads the file with read() in 1 MiB blocks, walks the 16-byte record
 * headers and loads one byte of every 64-byte cache line of every packet.
 * Nothing else: no decoding, no allocation, no output per packet. Any tool
 * that looks at every packet of a file pays at least this much; bench/run.sh
 * divides the other tools' CPU time by this program's.
 *
 * Build: cc -O2 -o floor bench/floor.c      Usage: floor FILE.pcap
 * Prints "packets captured_bytes checksum_bit" on stdout (the checksum bit
 * keeps the compiler from dropping the loads).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define BLOCK (1u << 20)
/* Room for one block plus the unread tail of the previous one: a record is
 * at most 16 + 256 KiB here (larger captured lengths are refused). */
#define MAX_CAPLEN (256u << 10)
#define HEADER 24
#define RECORD 16

static unsigned char buf[BLOCK + RECORD + MAX_CAPLEN];

static uint32_t caplen_of(const unsigned char *rec, int swapped) {
    uint32_t v;
    memcpy(&v, rec + 8, sizeof v);
    return swapped ? __builtin_bswap32(v) : v;
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s FILE.pcap\n", argv[0]);
        return 2;
    }
    int fd = open(argv[1], O_RDONLY);
    if (fd < 0) {
        perror(argv[1]);
        return 1;
    }
    size_t start = 0, end = 0; /* unread bytes are buf[start..end) */
    int header_done = 0, swapped = 0, eof = 0;
    uint64_t packets = 0, bytes = 0;
    unsigned sum = 0;
    while (!eof) {
        /* Keep the partial record, then top the buffer up with one block. */
        if (start > 0) {
            memmove(buf, buf + start, end - start);
            end -= start;
            start = 0;
        }
        ssize_t got = read(fd, buf + end, BLOCK);
        if (got < 0) {
            if (errno == EINTR) continue;
            perror("read");
            return 1;
        }
        if (got == 0) eof = 1;
        end += (size_t)got;
        if (!header_done) {
            if (end < HEADER) continue;
            uint32_t magic;
            memcpy(&magic, buf, sizeof magic);
            swapped = magic == 0xd4c3b2a1u || magic == 0x4d3cb2a1u;
            if (!swapped && magic != 0xa1b2c3d4u && magic != 0xa1b23c4du) {
                fprintf(stderr, "%s: not a classic pcap file\n", argv[1]);
                return 1;
            }
            start = HEADER;
            header_done = 1;
        }
        while (end - start >= RECORD) {
            uint32_t caplen = caplen_of(buf + start, swapped);
            if (caplen > MAX_CAPLEN) {
                fprintf(stderr, "%s: record of %u bytes\n", argv[1], caplen);
                return 1;
            }
            if (end - start < RECORD + (size_t)caplen) break;
            const unsigned char *frame = buf + start + RECORD;
            for (uint32_t at = 0; at < caplen; at += 64) sum += frame[at];
            packets++;
            bytes += caplen;
            start += RECORD + caplen;
        }
    }
    printf("%llu %llu %u\n", (unsigned long long)packets, (unsigned long long)bytes, sum & 1);
    return 0;
}
