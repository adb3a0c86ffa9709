/*
 * listener: a tiny libc TCP server for the rebind and wrap-mode tests.
 * A Go program would bypass LD_PRELOAD, so the child must be C.
 *
 *   listener [-d] [-t] MODE [ARGS]
 *     v4 PORT [ADDR]   bind ADDR (default 0.0.0.0):PORT
 *     v6 PORT [ADDR]   bind ADDR (default ::):PORT
 *     dual PORT        bind [::]:PORT with IPV6_V6ONLY, then 0.0.0.0:PORT
 *     twice PORT       bind 0.0.0.0:PORT, then 127.0.0.1:PORT
 *     idle             listen nowhere, just wait for a signal
 *     exit CODE        exit at once with status CODE
 *     daemon PORT      same as -d v4 PORT
 *     ignore-term PORT same as -t v4 PORT
 *   -d  daemonize first (fork, setsid, fork; the first process exits 0)
 *   -t  ignore SIGTERM
 *
 * Once every socket listens it prints one "listening ADDR:PORT [v6only=N]"
 * line per socket (the address getsockname reports) and "ready pid=N" on
 * stdout. Each accepted connection gets "$LISTENER_TOKEN\n" (default
 * "listener") and then an echo of what it sends. A failed bind prints
 * "bind ADDR:PORT: <strerror> (errno N)" on stderr and exits 3.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAXFD 64

static struct pollfd fds[MAXFD];
static int nlisten, nfds;

static void die(const char *what)
{
	fprintf(stderr, "listener: %s: %s (errno %d)\n", what, strerror(errno), errno);
	exit(2);
}

static void add_listener(int family, const char *addr, const char *port, int v6only)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, one = 1;
	char what[128];

	memset(&ss, 0, sizeof ss);
	if (family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
		sin->sin_family = AF_INET;
		sin->sin_port = htons((unsigned short)atoi(port));
		len = sizeof *sin;
		if (inet_pton(AF_INET, addr, &sin->sin_addr) != 1)
			die(addr);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((unsigned short)atoi(port));
		len = sizeof *sin6;
		if (inet_pton(AF_INET6, addr, &sin6->sin6_addr) != 1)
			die(addr);
	}
	fd = socket(family, SOCK_STREAM, 0);
	if (fd < 0)
		die("socket");
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0)
		die("SO_REUSEADDR");
	if (v6only && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) != 0)
		die("IPV6_V6ONLY");
	if (bind(fd, (struct sockaddr *)&ss, len) != 0) {
		int e = errno;
		fprintf(stderr, family == AF_INET ? "bind %s:%s: %s (errno %d)\n"
			: "bind [%s]:%s: %s (errno %d)\n", addr, port, strerror(e), e);
		exit(3);
	}
	snprintf(what, sizeof what, "listen %s", addr);
	if (listen(fd, 16) != 0)
		die(what);
	fds[nfds].fd = fd;
	fds[nfds].events = POLLIN;
	nfds++;
	nlisten++;
}

static void print_listener(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof ss;
	char host[INET6_ADDRSTRLEN];
	int v6only = 0;
	socklen_t olen = sizeof v6only;

	if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0)
		die("getsockname");
	if (ss.ss_family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
		inet_ntop(AF_INET, &sin->sin_addr, host, sizeof host);
		printf("listening %s:%d\n", host, ntohs(sin->sin_port));
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
		inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof host);
		getsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, &olen);
		printf("listening [%s]:%d v6only=%d\n", host, ntohs(sin6->sin6_port), v6only);
	}
}

static void daemonize(void)
{
	pid_t pid = fork();

	if (pid < 0)
		die("fork");
	if (pid > 0) {
		waitpid(pid, NULL, 0);
		exit(0);
	}
	if (setsid() < 0)
		die("setsid");
	pid = fork();
	if (pid < 0)
		die("fork");
	if (pid > 0)
		_exit(0);
}

static void serve(void)
{
	const char *token = getenv("LISTENER_TOKEN");
	char buf[4096];

	for (;;) {
		if (poll(fds, (nfds_t)nfds, -1) < 0) {
			if (errno == EINTR)
				continue;
			die("poll");
		}
		for (int i = 0; i < nfds; i++) {
			if (fds[i].revents == 0)
				continue;
			if (i < nlisten) {
				int c = accept(fds[i].fd, NULL, NULL);
				if (c < 0 || nfds == MAXFD) {
					if (c >= 0)
						close(c);
					continue;
				}
				dprintf(c, "%s\n", token ? token : "listener");
				fds[nfds].fd = c;
				fds[nfds].events = POLLIN;
				fds[nfds].revents = 0;
				nfds++;
				continue;
			}
			ssize_t n = read(fds[i].fd, buf, sizeof buf);
			for (ssize_t off = 0; n > 0 && off < n;) {
				ssize_t w = send(fds[i].fd, buf + off, (size_t)(n - off), MSG_NOSIGNAL);
				if (w <= 0)
					break;
				off += w;
			}
			if (n <= 0) {
				close(fds[i].fd);
				fds[i--] = fds[--nfds];
			}
		}
	}
}

int main(int argc, char **argv)
{
	int a = 1;
	const char *mode;

	for (; a < argc && argv[a][0] == '-'; a++) {
		if (strcmp(argv[a], "-d") == 0)
			daemonize();
		else if (strcmp(argv[a], "-t") == 0)
			signal(SIGTERM, SIG_IGN);
	}
	if (a >= argc)
		goto usage;
	mode = argv[a++];
	if (strcmp(mode, "exit") == 0 && a < argc)
		return atoi(argv[a]);
	if (strcmp(mode, "idle") == 0) {
		printf("ready pid=%d\n", (int)getpid());
		fflush(stdout);
		for (;;)
			pause();
	}
	if (a >= argc)
		goto usage;
	if (strcmp(mode, "daemon") == 0) {
		daemonize();
		mode = "v4";
	} else if (strcmp(mode, "ignore-term") == 0) {
		signal(SIGTERM, SIG_IGN);
		mode = "v4";
	}
	if (strcmp(mode, "v4") == 0) {
		add_listener(AF_INET, a + 1 < argc ? argv[a + 1] : "0.0.0.0", argv[a], 0);
	} else if (strcmp(mode, "v6") == 0) {
		add_listener(AF_INET6, a + 1 < argc ? argv[a + 1] : "::", argv[a], 0);
	} else if (strcmp(mode, "dual") == 0) {
		add_listener(AF_INET6, "::", argv[a], 1);
		add_listener(AF_INET, "0.0.0.0", argv[a], 0);
	} else if (strcmp(mode, "twice") == 0) {
		add_listener(AF_INET, "0.0.0.0", argv[a], 0);
		add_listener(AF_INET, "127.0.0.1", argv[a], 0);
	} else {
		goto usage;
	}
	for (int i = 0; i < nlisten; i++)
		print_listener(fds[i].fd);
	printf("ready pid=%d\n", (int)getpid());
	fflush(stdout);
	serve();
	return 0;
usage:
	fprintf(stderr, "usage: listener [-d] [-t] v4|v6|dual|twice|daemon|ignore-term PORT [ADDR]"
		" | idle | exit CODE\n");
	return 2;
}
