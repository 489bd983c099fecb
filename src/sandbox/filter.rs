//! The seccomp program that denies threads: ten classic-BPF instructions, as data.
//!
//! The module docs of `sandbox` list the program and say why each step is there; this file
//! encodes that listing. The encoding is the kernel's `struct sock_filter`:
//!
//! ```text
//! code: u16   what to do: load a word, jump if equal, jump if bits set, return
//! jt:   u8    for jumps: how many instructions to skip when the test is true
//! jf:   u8    ...and when it is false
//! k:    u32   the operand: an offset into seccomp_data, a value to compare, a verdict
//! ```
//!
//! Skip counts are easy to get wrong by one, so the program names its jump targets by absolute
//! instruction number and [`jump`] turns them into skip counts. The program is a `const`, so a
//! backward jump fails to compile; a unit test checks that every jump lands inside. The unit tests run the program through a small
//! cBPF interpreter against made-up system calls, so they check the filter's answers without
//! installing anything (and run under Miri).

use libc::sock_filter;
use std::mem::offset_of;

/// `__AUDIT_ARCH_64BIT` from `linux/audit.h`: the ABI has 64-bit registers.
const AUDIT_ARCH_64BIT: u32 = 0x8000_0000;
/// `__AUDIT_ARCH_LE` from `linux/audit.h`: the ABI is little-endian.
const AUDIT_ARCH_LE: u32 = 0x4000_0000;

/// The `seccomp_data.arch` value of the ABI this crate is compiled for (libc has no
/// `AUDIT_ARCH_*` constants; the kernel builds them from the ELF machine number like this).
#[cfg(target_arch = "x86_64")]
const AUDIT_ARCH_NATIVE: u32 = libc::EM_X86_64 as u32 | AUDIT_ARCH_64BIT | AUDIT_ARCH_LE;
/// The `seccomp_data.arch` value of the ABI this crate is compiled for (libc has no
/// `AUDIT_ARCH_*` constants; the kernel builds them from the ELF machine number like this).
#[cfg(target_arch = "aarch64")]
const AUDIT_ARCH_NATIVE: u32 = libc::EM_AARCH64 as u32 | AUDIT_ARCH_64BIT | AUDIT_ARCH_LE;

/// Where the syscall number sits in `seccomp_data`.
const NR_OFFSET: u32 = offset_of!(libc::seccomp_data, nr) as u32;
/// Where the architecture sits in `seccomp_data`.
const ARCH_OFFSET: u32 = offset_of!(libc::seccomp_data, arch) as u32;
/// Where the low 32 bits of `args[0]` (clone's flags) sit: at the start of the `u64`, because
/// the targets we build for are little-endian.
const CLONE_FLAGS_LOW_OFFSET: u32 = offset_of!(libc::seccomp_data, args) as u32;

/// `BPF_LD | BPF_W | BPF_ABS`: `A = 32-bit word at offset k of seccomp_data`.
const LOAD_WORD: u16 = (libc::BPF_LD | libc::BPF_W | libc::BPF_ABS) as u16;
/// `BPF_JMP | BPF_JEQ | BPF_K`: jump on `A == k`.
const JUMP_IF_EQUAL: u16 = (libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K) as u16;
/// `BPF_JMP | BPF_JSET | BPF_K`: jump on `A & k != 0`.
const JUMP_IF_ANY_BIT: u16 = (libc::BPF_JMP | libc::BPF_JSET | libc::BPF_K) as u16;
/// `BPF_RET | BPF_K`: end the program with verdict `k`.
const RETURN: u16 = (libc::BPF_RET | libc::BPF_K) as u16;

/// Instruction number of the verdict "fail with EAGAIN" (a new thread).
const DENY_THREAD: u8 = 7;
/// Instruction number of the verdict "fail with ENOSYS" (clone3, so glibc retries with clone).
const DENY_CLONE3: u8 = 8;
/// Instruction number of the verdict "allow".
const ALLOW: u8 = 9;

/// The filter installed by [`deny_thread_creation`](super::deny_thread_creation); see the
/// listing in the `sandbox` module docs, which matches it line for line.
pub(super) const THREAD_DENIAL: [sock_filter; 10] = [
    /* 0 */ load_word(ARCH_OFFSET),
    /* 1 */ jump(1, JUMP_IF_EQUAL, AUDIT_ARCH_NATIVE, 2, ALLOW),
    /* 2 */ load_word(NR_OFFSET),
    /* 3 */ jump(3, JUMP_IF_EQUAL, libc::SYS_clone3 as u32, DENY_CLONE3, 4),
    /* 4 */ jump(4, JUMP_IF_EQUAL, libc::SYS_clone as u32, 5, ALLOW),
    /* 5 */ load_word(CLONE_FLAGS_LOW_OFFSET),
    /* 6 */
    jump(
        6,
        JUMP_IF_ANY_BIT,
        libc::CLONE_THREAD as u32,
        DENY_THREAD,
        ALLOW,
    ),
    /* 7 */ verdict(fail_with(libc::EAGAIN)),
    /* 8 */ verdict(fail_with(libc::ENOSYS)),
    /* 9 */ verdict(libc::SECCOMP_RET_ALLOW),
];

/// `A = the 32-bit word at byte offset` of `seccomp_data`.
const fn load_word(offset: u32) -> sock_filter {
    sock_filter {
        code: LOAD_WORD,
        jt: 0,
        jf: 0,
        k: offset,
    }
}

/// A conditional jump written at instruction `at`, going to instruction `if_true` or
/// `if_false`. cBPF stores "instructions to skip after the next one", so we subtract `at + 1`;
/// in a `const` a target at or before `at` underflows and stops compilation.
const fn jump(at: u8, test: u16, k: u32, if_true: u8, if_false: u8) -> sock_filter {
    sock_filter {
        code: test,
        jt: if_true - (at + 1),
        jf: if_false - (at + 1),
        k,
    }
}

/// End the program with `action` (`SECCOMP_RET_*`).
const fn verdict(action: u32) -> sock_filter {
    sock_filter {
        code: RETURN,
        jt: 0,
        jf: 0,
        k: action,
    }
}

/// The verdict "do not run the call; return -1 with `errno` set to `errno`".
const fn fail_with(errno: i32) -> u32 {
    libc::SECCOMP_RET_ERRNO | (errno as u32 & libc::SECCOMP_RET_DATA)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `AUDIT_ARCH_I386`: what a 64-bit x86 process's `int 0x80` calls carry.
    const AUDIT_ARCH_I386: u32 = 3 | AUDIT_ARCH_LE;
    /// i386's number for clone.
    const I386_SYS_CLONE: i64 = 120;
    /// The flags glibc's `pthread_create` passes to clone.
    const PTHREAD_FLAGS: i32 = libc::CLONE_VM
        | libc::CLONE_FS
        | libc::CLONE_FILES
        | libc::CLONE_SIGHAND
        | libc::CLONE_THREAD
        | libc::CLONE_SYSVSEM
        | libc::CLONE_SETTLS
        | libc::CLONE_PARENT_SETTID
        | libc::CLONE_CHILD_CLEARTID;

    /// Lays out a `seccomp_data` as the kernel hands it to the filter, byte by byte (native
    /// endianness), so the interpreter can load words from it without any `unsafe`.
    fn seccomp_data(arch: u32, nr: i64, arg0: u64) -> [u8; size_of::<libc::seccomp_data>()] {
        let mut bytes = [0; size_of::<libc::seccomp_data>()];
        let nr = i32::try_from(nr).expect("syscall numbers fit in an i32");
        bytes[NR_OFFSET as usize..][..4].copy_from_slice(&nr.to_ne_bytes());
        bytes[ARCH_OFFSET as usize..][..4].copy_from_slice(&arch.to_ne_bytes());
        let args = offset_of!(libc::seccomp_data, args);
        bytes[args..][..8].copy_from_slice(&arg0.to_ne_bytes());
        bytes
    }

    /// Runs a cBPF program the way the kernel would, for the four opcodes we use.
    fn run(program: &[sock_filter], data: &[u8]) -> u32 {
        let mut acc: u32 = 0;
        let mut pc = 0;
        loop {
            let insn = program[pc];
            let taken = match insn.code {
                LOAD_WORD => {
                    let at = insn.k as usize;
                    let word = data[at..][..4].try_into().expect("four bytes");
                    acc = u32::from_ne_bytes(word);
                    pc += 1;
                    continue;
                }
                JUMP_IF_EQUAL => acc == insn.k,
                JUMP_IF_ANY_BIT => acc & insn.k != 0,
                RETURN => return insn.k,
                other => panic!("opcode {other:#x} is not used by this filter"),
            };
            pc += 1 + usize::from(if taken { insn.jt } else { insn.jf });
        }
    }

    /// The verdict of the thread-denial filter for one native system call.
    fn verdict_for(nr: i64, arg0: u64) -> u32 {
        run(&THREAD_DENIAL, &seccomp_data(AUDIT_ARCH_NATIVE, nr, arg0))
    }

    #[test]
    fn pthread_clone_fails_with_eagain() {
        let flags = PTHREAD_FLAGS as u32 as u64;
        assert_eq!(verdict_for(libc::SYS_clone, flags), fail_with(libc::EAGAIN));
    }

    #[test]
    fn process_clones_are_allowed() {
        let fork = libc::SIGCHLD as u64;
        let posix_spawn = (libc::CLONE_VM | libc::CLONE_VFORK | libc::SIGCHLD) as u64;
        for flags in [fork, posix_spawn] {
            assert_eq!(verdict_for(libc::SYS_clone, flags), libc::SECCOMP_RET_ALLOW);
        }
    }

    #[test]
    fn only_the_low_half_of_the_flags_counts() {
        // The kernel ignores bits 32..64 of clone's flags, and so does the filter.
        let thread_bit_up_high = (libc::CLONE_THREAD as u64) << 32;
        assert_eq!(
            verdict_for(libc::SYS_clone, thread_bit_up_high),
            libc::SECCOMP_RET_ALLOW
        );
        let noise_up_high = thread_bit_up_high | libc::CLONE_THREAD as u64;
        assert_eq!(
            verdict_for(libc::SYS_clone, noise_up_high),
            fail_with(libc::EAGAIN)
        );
    }

    #[test]
    fn clone3_fails_with_enosys_whatever_it_asks() {
        for arg0 in [0, u64::MAX, 0x7fff_1234_5678] {
            assert_eq!(verdict_for(libc::SYS_clone3, arg0), fail_with(libc::ENOSYS));
        }
    }

    #[test]
    fn other_calls_are_allowed_even_with_the_thread_bit_in_arg0() {
        let thread_bit = libc::CLONE_THREAD as u64;
        for nr in [
            libc::SYS_read,
            libc::SYS_write,
            libc::SYS_openat,
            libc::SYS_mmap,
        ] {
            assert_eq!(verdict_for(nr, thread_bit), libc::SECCOMP_RET_ALLOW);
        }
    }

    #[test]
    fn calls_through_a_foreign_abi_are_allowed() {
        let flags = PTHREAD_FLAGS as u32 as u64;
        for nr in [I386_SYS_CLONE, libc::SYS_clone, libc::SYS_clone3] {
            let data = seccomp_data(AUDIT_ARCH_I386, nr, flags);
            assert_eq!(run(&THREAD_DENIAL, &data), libc::SECCOMP_RET_ALLOW);
        }
    }

    #[test]
    fn every_jump_lands_inside_the_program() {
        for (at, insn) in THREAD_DENIAL.iter().enumerate() {
            if insn.code == JUMP_IF_EQUAL || insn.code == JUMP_IF_ANY_BIT {
                for skip in [insn.jt, insn.jf] {
                    assert!(
                        at + 1 + usize::from(skip) < THREAD_DENIAL.len(),
                        "jump at {at}"
                    );
                }
            }
        }
        assert_eq!(THREAD_DENIAL.last().map(|insn| insn.code), Some(RETURN));
    }

    #[test]
    fn native_arch_matches_the_kernel_constants() {
        // AUDIT_ARCH_X86_64 and AUDIT_ARCH_AARCH64 as printed in linux/audit.h.
        let expected = if cfg!(target_arch = "x86_64") {
            0xc000_003e
        } else {
            0xc000_00b7
        };
        assert_eq!(AUDIT_ARCH_NATIVE, expected);
    }
}
