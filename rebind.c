#define _GNU_SOURCE /* RTLD_NEXT; must precede every #include */
/*
 * rebind.so: LD_PRELOAD shim that moves a program's listening port so that
 * websockify can own it. A TCP (SOCK_STREAM) bind to port REBIND_OLD_PORT:
 *   AF_INET,  any address  ->  127.0.0.1:REBIND_NEW_PORT
 *   AF_INET6, any address  ->  [::1]:REBIND_NEW_PORT (flowinfo kept,
 *                              scope_id 0, IPV6_V6ONLY set first)
 * Anything else (other ports, port 0, UDP, other families, NULL or short
 * addresses) reaches the real bind() untouched; errno is always the one the
 * real bind() left. Only bind() is exported.
 *
 * Dual stack: 0.0.0.0:P and [::]:P become 127.0.0.1:new and [::1]:new, which
 * never collide because the v6 socket is IPV6_V6ONLY. Two binds of one family
 * (0.0.0.0:P and 127.0.0.1:P) meet on one address: the second gets EADDRINUSE.
 *
 * Inheritance: the shim does NOT unsetenv LD_PRELOAD or REBIND_*. Every
 * dynamically linked descendant loads it and has its bind of the old port
 * moved, which makes wrappers work (`sh -c 'exec server'`, vncserver starting
 * Xvnc); a second process binding the old port then collides with the first.
 *
 * The variables are parsed once, at load time. A missing, malformed (not a
 * whole base-10 number) or out-of-range (1-65535) value disables the shim;
 * a present but invalid one is reported by one line on stderr. */
#include <dlfcn.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

typedef int (*bind_fn)(int, const struct sockaddr *, socklen_t);

__attribute__((visibility("default")))
int bind(int fd, const struct sockaddr *addr, socklen_t len);

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static bind_fn real_bind;              /* all three are read-only after init */
static in_port_t old_port, new_port;   /* old_port 0: the shim is disabled */

/* parse_port: 1 and *out set if name holds a port, 0 if unset, -1 if invalid. */
static int parse_port(const char *name, in_port_t *out)
{
	const char *s = getenv(name);
	char *end;
	long v;

	if (s == NULL)
		return 0;
	errno = 0;
	v = strtol(s, &end, 10);
	if (*s < '0' || *s > '9' || *end != '\0' || errno != 0 || v < 1 || v > 65535)
		return -1;
	*out = (in_port_t)v;
	return 1;
}

static void init(void)
{
	int saved = errno;
	void *sym;
	const char *err;
	in_port_t o = 0, n = 0;
	int ro, rn;

	dlerror();
	sym = dlsym(RTLD_NEXT, "bind");
	if (sym == NULL) {
		err = dlerror();
		fprintf(stderr, "rebind: cannot find the real bind(): %s\n", err ? err : "?");
		abort();
	}
	memcpy(&real_bind, &sym, sizeof real_bind); /* void * -> function pointer */
	if (real_bind == &bind) {
		fprintf(stderr, "rebind: dlsym(RTLD_NEXT, \"bind\") returned the shim itself\n");
		abort();
	}

	ro = parse_port("REBIND_OLD_PORT", &o);
	rn = parse_port("REBIND_NEW_PORT", &n);
	if (ro > 0 && rn > 0) {
		old_port = o;
		new_port = n;
	} else if (ro < 0 || rn < 0) {
		fprintf(stderr, "rebind: invalid REBIND_OLD_PORT/REBIND_NEW_PORT "
			"(want 1-65535); not moving any port\n");
	}
	errno = saved;
}

__attribute__((constructor)) static void rebind_ctor(void)
{
	pthread_once(&init_once, init);
}

/* is_stream reports whether fd is a SOCK_STREAM socket; errno is kept. */
static int is_stream(int fd)
{
	int type = 0, saved = errno, ok;
	socklen_t tlen = sizeof type;

	ok = getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tlen) == 0 && type == SOCK_STREAM;

	errno = saved;
	return ok;
}

static int bind_v4(int fd, struct sockaddr_in *sin)
{
	sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin->sin_port = htons(new_port);
	return real_bind(fd, (const struct sockaddr *)sin, sizeof *sin);
}

static int bind_v6(int fd, struct sockaddr_in6 *sin6)
{
	int one = 1, saved = errno, ret;

	sin6->sin6_addr = in6addr_loopback;
	sin6->sin6_port = htons(new_port);
	sin6->sin6_scope_id = 0;
	/* Keep [::1]:new apart from 127.0.0.1:new; on failure real bind says why. */
	if (setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) != 0)
		errno = saved;
	ret = real_bind(fd, (const struct sockaddr *)sin6, sizeof *sin6);
	if (ret == 0)
		errno = saved;
	return ret;
}

int bind(int fd, const struct sockaddr *addr, socklen_t len)
{
	struct sockaddr_in sin;
	struct sockaddr_in6 sin6;

	pthread_once(&init_once, init);
	if (addr == NULL || old_port == 0 || len < (socklen_t)sizeof(sa_family_t))
		return real_bind(fd, addr, len);
	if (addr->sa_family == AF_INET && len >= (socklen_t)sizeof sin) {
		memcpy(&sin, addr, sizeof sin);
		if (ntohs(sin.sin_port) == old_port && is_stream(fd))
			return bind_v4(fd, &sin);
	} else if (addr->sa_family == AF_INET6 && len >= (socklen_t)sizeof sin6) {
		memcpy(&sin6, addr, sizeof sin6);
		if (ntohs(sin6.sin6_port) == old_port && is_stream(fd))
			return bind_v6(fd, &sin6);
	}
	return real_bind(fd, addr, len);
}
