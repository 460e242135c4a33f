/* Hopper wgmma in the emulator (kernels/common/wgmma.cuh): not yet implemented; every entry
 * fails the launch with the reason. */
#include "emu_internal.h"

namespace attn_emu {
namespace ptx {

uint32_t wgmma_smem_addr(const void *, const char *file, int line)
{
    fail("wgmma is not emulated yet (%s:%d)", short_path(file), line);
}
void wgmma_mma_async(float *, int, bool, uint64_t, const uint32_t *, uint64_t, int, int, int,
                     const char *file, int line)
{
    fail("wgmma is not emulated yet (%s:%d)", short_path(file), line);
}
void wgmma_fence(const char *file, int line)
{
    fail("wgmma is not emulated yet (%s:%d)", short_path(file), line);
}
void wgmma_commit_group(const char *file, int line)
{
    fail("wgmma is not emulated yet (%s:%d)", short_path(file), line);
}
void wgmma_wait_group(int, const char *file, int line)
{
    fail("wgmma is not emulated yet (%s:%d)", short_path(file), line);
}
void fence_proxy_async_shared(const char *, int) {}
void wgmma_acc_access(const float *, int, int, const char *, int) {}

} // namespace ptx
} // namespace attn_emu
