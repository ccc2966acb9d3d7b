/* stub_offsets.h - byte offsets into struct stub_vcpu used by stub_asm.S (checked in stub.c). */
#ifndef KEEL_STUB_OFFSETS_H
#define KEEL_STUB_OFFSETS_H
#define SLOT_ENTRY_R15 0
#define SLOT_ENTRY_R14 8
#define SLOT_ENTRY_R13 16
#define SLOT_ENTRY_R12 24
#define SLOT_ENTRY_RBP 32
#define SLOT_ENTRY_RBX 40
#define SLOT_ENTRY_RDX 96
#define SLOT_ENTRY_RSI 104
#define SLOT_ENTRY_RDI 112
#define SLOT_ENTRY_RSP 136
#define STUB_PHASE 160
#define STUB_STACK 168
#define STUB_VCPU_INFO 176
#define STUB_TID_MAX 1024
#endif
