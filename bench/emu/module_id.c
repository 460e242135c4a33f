/* The emulator module's build id, for the harness to compare with its own (bench/emu.c). */
extern const char attn_build_id[];

const char *attn_emu_build_id(void) { return attn_build_id; }
