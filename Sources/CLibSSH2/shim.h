#ifndef KEYSYNC_CLIBSSH2_SHIM_H
#define KEYSYNC_CLIBSSH2_SHIM_H
#include <libssh2.h>
#include <libssh2_publickey.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <netdb.h>
#include <poll.h>
#include <fcntl.h>
#include <unistd.h>
#include <errno.h>

/* libssh2_session_init, libssh2_channel_open_session and
   libssh2_channel_exec are macros; Swift cannot call macros. */
static inline LIBSSH2_SESSION *keysync_session_init(void *abstract) {
    return libssh2_session_init_ex(NULL, NULL, NULL, abstract);
}
static inline LIBSSH2_CHANNEL *keysync_channel_open_session(LIBSSH2_SESSION *s) {
    return libssh2_channel_open_ex(s, "session", sizeof("session") - 1,
        LIBSSH2_CHANNEL_WINDOW_DEFAULT, LIBSSH2_CHANNEL_PACKET_DEFAULT, NULL, 0);
}
static inline int keysync_channel_exec(LIBSSH2_CHANNEL *c, const char *command, unsigned int len) {
    return libssh2_channel_process_startup(c, "exec", sizeof("exec") - 1, command, len);
}
static inline ssize_t keysync_channel_read(LIBSSH2_CHANNEL *c, int stream, char *buf, size_t len) {
    return libssh2_channel_read_ex(c, stream, buf, len);
}
static inline ssize_t keysync_channel_write(LIBSSH2_CHANNEL *c, const char *buf, size_t len) {
    return libssh2_channel_write_ex(c, 0, buf, len);
}
static inline int keysync_channel_send_eof(LIBSSH2_CHANNEL *c) {
    return libssh2_channel_send_eof(c);
}

/* A session whose bytes travel through callbacks (a direct-tcpip channel of
   another session, for jump hosts) instead of its socket. */
typedef ssize_t (*keysync_send_fn)(libssh2_socket_t, const void *, size_t, int, void **);
typedef ssize_t (*keysync_recv_fn)(libssh2_socket_t, void *, size_t, int, void **);
static inline void keysync_session_set_io(LIBSSH2_SESSION *s, keysync_send_fn send, keysync_recv_fn recv) {
    libssh2_session_callback_set(s, LIBSSH2_CALLBACK_SEND, (void *)send);
    libssh2_session_callback_set(s, LIBSSH2_CALLBACK_RECV, (void *)recv);
}
/* The session's abstract pointer, as the callbacks receive it. */
static inline void *keysync_session_abstract(void **abstract) {
    return abstract ? *abstract : NULL;
}
static inline LIBSSH2_CHANNEL *keysync_channel_direct_tcpip(LIBSSH2_SESSION *s, const char *host, int port) {
    return libssh2_channel_direct_tcpip_ex(s, host, port, "127.0.0.1", 0);
}
#endif
