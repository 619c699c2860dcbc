// SPDX-License-Identifier: GPL-2.0
/* struct_ops: loads struct_ops.bpf.c and registers its TCP congestion control
 * algorithm "bpfgen_reno" by attaching the struct_ops map. It shows the name
 * in /proc/sys/net/ipv4/tcp_available_congestion_control, sends some data over
 * a loopback TCP connection that uses the algorithm, prints how often the BPF
 * callbacks ran, and unregisters the algorithm again on exit.
 *
 * usage: struct_ops [-t SECONDS]   (stays registered until ^C or SECONDS)
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <bpf/libbpf.h>
#include "example.h"
#include "struct_ops.skel.h"

#define CA_NAME		"bpfgen_reno"
#define AVAILABLE_CA	"/proc/sys/net/ipv4/tcp_available_congestion_control"
#define TRANSFER_BYTES	(8 << 20)

/* prints the kernel's list of algorithms; true if it names ours */
static bool show_available(void)
{
	char line[512] = "", *tok, *save;
	bool found = false;
	FILE *f;

	f = fopen(AVAILABLE_CA, "r");
	if (!f) {
		fprintf(stderr, "Cannot read %s: %s\n", AVAILABLE_CA, strerror(errno));
		return false;
	}
	if (!fgets(line, sizeof(line), f))
		line[0] = '\0';
	fclose(f);
	line[strcspn(line, "\n")] = '\0';

	printf("tcp_available_congestion_control: %s\n", line);
	for (tok = strtok_r(line, " ", &save); tok; tok = strtok_r(NULL, " ", &save))
		if (!strcmp(tok, CA_NAME))
			found = true;
	return found;
}

/* Sends TRANSFER_BYTES over a loopback TCP connection whose sender uses our
 * algorithm. One thread, non-blocking sockets: write and read in turn.
 */
static int tcp_transfer(void)
{
	struct sockaddr_in addr = { .sin_family = AF_INET };
	socklen_t len = sizeof(addr);
	int lsock = -1, client = -1, server = -1, err = -1;
	size_t sent = 0, received = 0;
	char buf[64 * 1024], ca[16] = "";

	memset(buf, 'x', sizeof(buf));
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);

	lsock = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	client = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lsock < 0 || client < 0) {
		fprintf(stderr, "socket: %s\n", strerror(errno));
		goto out;
	}
	if (bind(lsock, (struct sockaddr *)&addr, sizeof(addr)) ||
	    listen(lsock, 1) || getsockname(lsock, (struct sockaddr *)&addr, &len)) {
		fprintf(stderr, "listen on 127.0.0.1: %s\n", strerror(errno));
		goto out;
	}
	/* before connect(), so that the algorithm's init runs for this socket */
	if (setsockopt(client, IPPROTO_TCP, TCP_CONGESTION, CA_NAME, strlen(CA_NAME))) {
		fprintf(stderr, "setsockopt(TCP_CONGESTION, %s): %s\n", CA_NAME, strerror(errno));
		goto out;
	}
	if (connect(client, (struct sockaddr *)&addr, sizeof(addr))) {
		fprintf(stderr, "connect: %s\n", strerror(errno));
		goto out;
	}
	server = accept(lsock, NULL, NULL);
	if (server < 0) {
		fprintf(stderr, "accept: %s\n", strerror(errno));
		goto out;
	}
	fcntl(client, F_SETFL, fcntl(client, F_GETFL) | O_NONBLOCK);
	fcntl(server, F_SETFL, fcntl(server, F_GETFL) | O_NONBLOCK);

	len = sizeof(ca) - 1;
	if (getsockopt(client, IPPROTO_TCP, TCP_CONGESTION, ca, &len)) {
		fprintf(stderr, "getsockopt(TCP_CONGESTION): %s\n", strerror(errno));
		goto out;
	}

	while (received < TRANSFER_BYTES) {
		struct pollfd pfd[2] = {
			{ .fd = client, .events = sent < TRANSFER_BYTES ? POLLOUT : 0 },
			{ .fd = server, .events = POLLIN },
		};
		ssize_t n;
		int ready;

		ready = poll(pfd, 2, 5000);
		if (ready < 0 && errno == EINTR) {
			if (exiting) {
				err = 0;
				goto out;
			}
			continue;
		}
		if (ready <= 0) {
			fprintf(stderr, "TCP transfer stalled\n");
			goto out;
		}
		if (pfd[0].revents & POLLOUT) {
			size_t chunk = TRANSFER_BYTES - sent;

			n = write(client, buf, chunk < sizeof(buf) ? chunk : sizeof(buf));
			if (n < 0 && errno != EAGAIN) {
				fprintf(stderr, "write: %s\n", strerror(errno));
				goto out;
			}
			if (n > 0)
				sent += n;
		}
		if (pfd[1].revents & POLLIN) {
			n = read(server, buf, sizeof(buf));
			if (n <= 0 && !(n < 0 && errno == EAGAIN)) {
				fprintf(stderr, "read: %s\n", n ? strerror(errno) : "early EOF");
				goto out;
			}
			if (n > 0)
				received += n;
		}
	}
	printf("TCP connection over 127.0.0.1 used %s: sent %zu bytes\n", ca, sent);
	err = 0;
out:
	if (server >= 0)
		close(server);
	if (client >= 0)
		close(client);
	if (lsock >= 0)
		close(lsock);
	return err;
}

int main(int argc, char **argv)
{
	struct struct_ops_bpf *skel;
	struct bpf_link *link = NULL;
	long limit = 0, elapsed = 0;
	int err = 0;

	limit = example_time_limit(argc, argv);
	if (limit < 0)
		return 1;

	example_setup();

	skel = struct_ops_bpf__open_and_load();
	if (!skel) {
		fprintf(stderr, "Failed to open and load BPF skeleton\n");
		return 1;
	}

	/* Registers the algorithm. With libbpf before 1.5 the skeleton neither
	 * attaches struct_ops maps nor destroys their links: we do both.
	 */
	link = bpf_map__attach_struct_ops(skel->maps.bpfgen_reno);
	if (!link) {
		err = -errno;
		fprintf(stderr, "Failed to register %s: %d%s\n", CA_NAME, err,
			err == -EEXIST ? " (already registered, by another process?)" : "");
		goto cleanup;
	}

	printf("Successfully started! Registered TCP congestion control %s.\n", CA_NAME);
	if (!show_available()) {
		fprintf(stderr, "%s is missing from %s\n", CA_NAME, AVAILABLE_CA);
		err = 1;
		goto cleanup;
	}
	fflush(stdout);

	err = tcp_transfer();
	printf("BPF callbacks: init %llu, ssthresh %llu, cong_avoid %llu, undo_cwnd %llu\n",
	       (unsigned long long)skel->bss->init_calls,
	       (unsigned long long)skel->bss->ssthresh_calls,
	       (unsigned long long)skel->bss->cong_avoid_calls,
	       (unsigned long long)skel->bss->undo_cwnd_calls);
	fflush(stdout);
	if (err)
		goto cleanup;

	while (!exiting && (limit == 0 || elapsed < limit)) {
		sleep(1);
		elapsed++;
	}

cleanup:
	if (link) {
		/* unregisters the algorithm */
		bpf_link__destroy(link);
		printf("Unregistered %s.\n", CA_NAME);
		show_available();
		fflush(stdout);
	}
	struct_ops_bpf__destroy(skel);
	return err ? 1 : 0;
}
