/* Error strings and the version. */
#include <errno.h>
#include <string.h>

#include "zeroipc/common.h"

#define ZIPC__STR(x) #x
#define ZIPC__XSTR(x) ZIPC__STR(x)

const char *zipc_version(void)
{
    return ZIPC__XSTR(ZIPC_VERSION_MAJOR) "." ZIPC__XSTR(ZIPC_VERSION_MINOR) "." ZIPC__XSTR(
        ZIPC_VERSION_PATCH);
}

const char *zipc_strerror(int err)
{
    if (err < 0)
        err = -err;
    switch (err) {
    case 0: return "success";
    case EINVAL: return "invalid argument";
    case ENAMETOOLONG: return "name too long";
    case ENOENT: return "no such segment or entry";
    case EEXIST: return "segment or entry already exists";
    case ENOSPC: return "no space left in the segment (table or bytes) or in /dev/shm";
    case EBADMSG: return "segment is corrupt or does not match the requested structure";
    case EPROTO: return "incompatible segment format version";
    case ERANGE: return "index out of range";
    case EROFS: return "segment opened read-only";
    case EAGAIN: return "operation would block (full or empty)";
    case ETIMEDOUT: return "timed out";
    case ENOMEM: return "out of memory";
    case EACCES: return "permission denied";
    case EOWNERDEAD: return "previous holder of the lock or slot died holding it";
    case EPERM: return "caller does not own the lock, or a ring side already has its one user";
    case EOVERFLOW: return "count would exceed its maximum";
    case EBUSY: return "a slot is held by a peer that appears stuck or dead; see the recover call";
    default: return "system error";
    }
}
