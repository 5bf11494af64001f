;; A hostile guest that speaks the plugin ABI (wasm/README.md) and, inside `scopecheck_decide`,
;; tries to reach the outside world or to break the host's limits. Used by tests/sandbox.rs.
;;
;; The event is a command: its first byte picks what to try, its second byte minus '0' is a
;; parameter `p` (a file descriptor, a clock id, a variant; '/' is -1). Before each try the
;; out-parameter area (0x1000..0x1800) is filled with the sentinel byte 0xAA. The reply is a
;; `deny` decision whose `removed[0]` is the hex of a 64-byte report: word 0 the errno the call
;; returned (or another result), words 1..15 the first 15 words of the out-parameter area, so the
;; test sees exactly what the host wrote back. A command that traps has no reply, of course.
;;
;; Memory: 0x100 report | 0x400 "/etc/passwd" | 0x440 a stderr line | 0x1000 out-parameters
;; (sentinel) | 0x1800 one iovec | 0x1900 a poll subscription | 0x1a00 64 iovecs | 0x2000 the
;; load reply | 0x2100 the decide reply | 0x10000 the input buffer (64 KiB).
(module
  (import "wasi_snapshot_preview1" "random_get" (func $random_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "environ_get" (func $environ_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "environ_sizes_get" (func $environ_sizes_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  ;; Not given by the host: each of these traps when called.
  (import "wasi_snapshot_preview1" "args_get" (func $args_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_sizes_get" (func $args_sizes_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_open"
    (func $path_open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_prestat_get" (func $fd_prestat_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_prestat_dir_name" (func $fd_prestat_dir_name (param i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_fdstat_get" (func $fd_fdstat_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "sock_accept" (func $sock_accept (param i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "sock_recv" (func $sock_recv (param i32 i32 i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "sock_send" (func $sock_send (param i32 i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "clock_time_get" (func $clock_time_get (param i32 i64 i32) (result i32)))
  (import "wasi_snapshot_preview1" "clock_res_get" (func $clock_res_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "poll_oneoff" (func $poll_oneoff (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "sched_yield" (func $sched_yield (result i32)))
  (import "wasi_snapshot_preview1" "proc_raise" (func $proc_raise (param i32) (result i32)))
  (import "env" "system" (func $system (param i32 i32) (result i32)))

  (memory (export "memory") 4)

  (data (i32.const 0x400) "/etc/passwd")
  (data (i32.const 0x440) "hello from the guest\n")
  (data (i32.const 0x2000) "{\"ok\":true,\"abi\":2}")
  ;; 77 bytes, 128 hex digits at 0x214d, 3 bytes: 208 bytes.
  (data (i32.const 0x2100)
    "{\"decision\":\"deny\",\"would\":\"deny\",\"mode\":\"enforce\",\"findings\":[],\"removed\":[\""
    "XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX"
    "XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX"
    "\"]}")

  (func (export "scopecheck_abi_version") (result i32) (i32.const 2))
  (func (export "scopecheck_alloc") (param $len i32) (result i32)
    (select (i32.const 0x10000) (i32.const 0) (i32.le_u (local.get $len) (i32.const 0x10000))))
  (func (export "scopecheck_free") (param i32 i32))
  (func (export "scopecheck_load") (param i32 i32) (result i64)
    (i64.or (i64.shl (i64.const 0x2000) (i64.const 32)) (i64.const 19)))
  (func (export "scopecheck_configure") (param i32 i32) (result i64)
    (i64.or (i64.shl (i64.const 0x2000) (i64.const 32)) (i64.const 19)))

  (func $errno (param $v i32) (i32.store (i32.const 0x100) (local.get $v)))
  (func $iovec (param $at i32) (param $ptr i32) (param $len i32)
    (i32.store (local.get $at) (local.get $ptr))
    (i32.store offset=4 (local.get $at) (local.get $len)))
  (func $hex (param $x i32) (result i32)
    (select (i32.add (local.get $x) (i32.const 48)) (i32.add (local.get $x) (i32.const 87))
      (i32.lt_u (local.get $x) (i32.const 10))))
  (func $rec (param $n i32) (result i32)
    (i32.add (call $rec (i32.add (local.get $n) (i32.const 1))) (i32.const 1)))
  ;; Grows memory 1 MiB at a time until refused; returns the last memory.grow result.
  (func $grow_until_refused (result i32) (local $r i32)
    (block $done
      (loop $again
        (local.set $r (memory.grow (i32.const 16)))
        (br_if $done (i32.eq (local.get $r) (i32.const -1)))
        (br $again)))
    (local.get $r))

  (func (export "scopecheck_decide") (param $ptr i32) (param $len i32) (result i64)
    (local $c i32) (local $p i32) (local $i i32) (local $b i32)
    (memory.fill (i32.const 0x100) (i32.const 0) (i32.const 64))
    (memory.fill (i32.const 0x1000) (i32.const 0xaa) (i32.const 0x800))
    (local.set $c (i32.load8_u (local.get $ptr)))
    (local.set $p (i32.sub (i32.load8_u offset=1 (local.get $ptr)) (i32.const 48)))
    (if (i32.lt_u (local.get $len) (i32.const 2)) (then (local.set $p (i32.const 0))))

    ;; --- files ---
    ;; 'o': path_open(p, "etc/passwd") / 'O': "/etc/passwd"
    (if (i32.eq (local.get $c) (i32.const 0x6f)) (then
      (call $errno (call $path_open (local.get $p) (i32.const 1) (i32.const 0x401) (i32.const 10)
        (i32.const 0) (i64.const -1) (i64.const -1) (i32.const 0) (i32.const 0x1000)))))
    (if (i32.eq (local.get $c) (i32.const 0x4f)) (then
      (call $errno (call $path_open (local.get $p) (i32.const 1) (i32.const 0x400) (i32.const 11)
        (i32.const 0) (i64.const -1) (i64.const -1) (i32.const 0) (i32.const 0x1000)))))
    ;; 'p': fd_prestat_get(p) / 'P': fd_prestat_dir_name(p, 16 bytes at 0x1020)
    (if (i32.eq (local.get $c) (i32.const 0x70)) (then
      (call $errno (call $fd_prestat_get (local.get $p) (i32.const 0x1000)))))
    (if (i32.eq (local.get $c) (i32.const 0x50)) (then
      (call $errno (call $fd_prestat_dir_name (local.get $p) (i32.const 0x1020) (i32.const 16)))))
    ;; 'r': fd_read(p) into 16 bytes at 0x1020, count at 0x1000
    (if (i32.eq (local.get $c) (i32.const 0x72)) (then
      (call $iovec (i32.const 0x1800) (i32.const 0x1020) (i32.const 16))
      (call $errno (call $fd_read (local.get $p) (i32.const 0x1800) (i32.const 1) (i32.const 0x1000)))))
    ;; 'f': fd_fdstat_get(p)
    (if (i32.eq (local.get $c) (i32.const 0x66)) (then
      (call $errno (call $fd_fdstat_get (local.get $p) (i32.const 0x1000)))))
    ;; 'w': fd_write(p, "/etc/passwd"), count at 0x1000
    (if (i32.eq (local.get $c) (i32.const 0x77)) (then
      (call $iovec (i32.const 0x1800) (i32.const 0x400) (i32.const 11))
      (call $errno (call $fd_write (local.get $p) (i32.const 0x1800) (i32.const 1) (i32.const 0x1000)))))
    ;; 't': fd_write(p, "hello from the guest\n"), then trap
    (if (i32.eq (local.get $c) (i32.const 0x74)) (then
      (call $iovec (i32.const 0x1800) (i32.const 0x440) (i32.const 21))
      (drop (call $fd_write (local.get $p) (i32.const 0x1800) (i32.const 1) (i32.const 0x1000)))
      (unreachable)))
    ;; 'W': grows memory to 16 MiB, then fd_write(2) of 64 iovecs each the whole memory from
    ;; 0x400 (1 GiB claimed); p = 1: trap afterwards (the kept stderr is in the trap message)
    (if (i32.eq (local.get $c) (i32.const 0x57)) (then
      (if (i32.lt_u (memory.size) (i32.const 256))
        (then (drop (memory.grow (i32.sub (i32.const 256) (memory.size))))))
      (local.set $i (i32.const 0))
      (loop $fill
        (call $iovec (i32.add (i32.const 0x1a00) (i32.shl (local.get $i) (i32.const 3)))
          (i32.const 0x400) (i32.sub (i32.shl (memory.size) (i32.const 16)) (i32.const 0x400)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br_if $fill (i32.lt_u (local.get $i) (i32.const 64))))
      (call $errno (call $fd_write (i32.const 2) (i32.const 0x1a00) (i32.const 64) (i32.const 0x1000)))
      (if (i32.eq (local.get $p) (i32.const 1)) (then (unreachable)))))

    ;; --- network ---
    ;; 'a': sock_accept(p) / 'R': sock_recv(p) / 'S': sock_send(p, "/etc/passwd")
    (if (i32.eq (local.get $c) (i32.const 0x61)) (then
      (call $errno (call $sock_accept (local.get $p) (i32.const 0) (i32.const 0x1000)))))
    (if (i32.eq (local.get $c) (i32.const 0x52)) (then
      (call $iovec (i32.const 0x1800) (i32.const 0x1020) (i32.const 16))
      (call $errno (call $sock_recv (local.get $p) (i32.const 0x1800) (i32.const 1) (i32.const 0)
        (i32.const 0x1000) (i32.const 0x1004)))))
    (if (i32.eq (local.get $c) (i32.const 0x53)) (then
      (call $iovec (i32.const 0x1800) (i32.const 0x400) (i32.const 11))
      (call $errno (call $sock_send (local.get $p) (i32.const 0x1800) (i32.const 1) (i32.const 0)
        (i32.const 0x1000)))))

    ;; --- clock ---
    ;; 'c': clock_time_get(p), the time at 0x1000 / 'C': clock_res_get(p)
    (if (i32.eq (local.get $c) (i32.const 0x63)) (then
      (call $errno (call $clock_time_get (local.get $p) (i64.const 0) (i32.const 0x1000)))))
    (if (i32.eq (local.get $c) (i32.const 0x43)) (then
      (call $errno (call $clock_res_get (local.get $p) (i32.const 0x1000)))))
    ;; 'q': poll_oneoff on a 1 s relative timeout of clock p; nevents at 0x1000, event at 0x1010
    (if (i32.eq (local.get $c) (i32.const 0x71)) (then
      (memory.fill (i32.const 0x1900) (i32.const 0) (i32.const 48))
      (i64.store (i32.const 0x1900) (i64.const 0x1234))
      (i32.store offset=16 (i32.const 0x1900) (local.get $p))
      (i64.store offset=24 (i32.const 0x1900) (i64.const 1000000000))
      (call $errno (call $poll_oneoff (i32.const 0x1900) (i32.const 0x1010) (i32.const 1) (i32.const 0x1000)))))
    ;; 'y': sched_yield()
    (if (i32.eq (local.get $c) (i32.const 0x79)) (then (call $errno (call $sched_yield))))

    ;; --- environment and arguments ---
    ;; 'e': environ_sizes_get(0x1000, 0x1004), then environ_get(0x1008, 0x1010), whose errno is
    ;; stored at 0x1030 (report word 13)
    (if (i32.eq (local.get $c) (i32.const 0x65)) (then
      (call $errno (call $environ_sizes_get (i32.const 0x1000) (i32.const 0x1004)))
      (i32.store (i32.const 0x1030) (call $environ_get (i32.const 0x1008) (i32.const 0x1010)))))
    ;; 'g': args_sizes_get(0x1000, 0x1004) / 'G': args_get(0x1008, 0x1010)
    (if (i32.eq (local.get $c) (i32.const 0x67)) (then
      (call $errno (call $args_sizes_get (i32.const 0x1000) (i32.const 0x1004)))))
    (if (i32.eq (local.get $c) (i32.const 0x47)) (then
      (call $errno (call $args_get (i32.const 0x1008) (i32.const 0x1010)))))

    ;; --- the rest of the outside world ---
    ;; 'n': random_get(0x1000, 16) / 'N': random_get of p = 0: 2 GiB - 1 at 0 (past the end of
    ;; memory); p = 2: 64 KiB at 0x20000; p = 3: 64 KiB + 1 at 0x20000; p = 4: 16 bytes at the
    ;; end of memory, 8 of them past it
    (if (i32.eq (local.get $c) (i32.const 0x6e)) (then
      (call $errno (call $random_get (i32.const 0x1000) (i32.const 16)))))
    (if (i32.eq (local.get $c) (i32.const 0x4e)) (then
      (if (i32.eq (local.get $p) (i32.const 0)) (then
        (call $errno (call $random_get (i32.const 0) (i32.const 0x7fffffff)))))
      (if (i32.eq (local.get $p) (i32.const 2)) (then
        (call $errno (call $random_get (i32.const 0x20000) (i32.const 0x10000)))))
      (if (i32.eq (local.get $p) (i32.const 3)) (then
        (call $errno (call $random_get (i32.const 0x20000) (i32.const 0x10001)))))
      (if (i32.eq (local.get $p) (i32.const 4)) (then
        (call $errno (call $random_get (i32.sub (i32.shl (memory.size) (i32.const 16)) (i32.const 8))
          (i32.const 16)))))))
    ;; 'x': proc_exit(7) / 'k': proc_raise(9) / 'z': env.system("/etc/passwd")
    (if (i32.eq (local.get $c) (i32.const 0x78)) (then (call $proc_exit (i32.const 7))))
    (if (i32.eq (local.get $c) (i32.const 0x6b)) (then (call $errno (call $proc_raise (i32.const 9)))))
    (if (i32.eq (local.get $c) (i32.const 0x7a)) (then
      (call $errno (call $system (i32.const 0x400) (i32.const 11)))))

    ;; --- limits ---
    ;; 'L': loop forever
    (if (i32.eq (local.get $c) (i32.const 0x4c)) (then (loop $forever (br $forever))))
    ;; 'D': recurse forever
    (if (i32.eq (local.get $c) (i32.const 0x44)) (then (call $errno (call $rec (i32.const 0)))))
    ;; 'M': grow until refused: word 0 the refused grow's result, word 1 (at 0x1000) the pages
    ;; reached; p = 1: then trap, as an allocator that cannot allocate does
    (if (i32.eq (local.get $c) (i32.const 0x4d)) (then
      (call $errno (call $grow_until_refused))
      (i32.store (i32.const 0x1000) (memory.size))
      (if (i32.eq (local.get $p) (i32.const 1)) (then (unreachable)))))
    ;; 'B': one huge growth: p = 0: 65536 pages (4 GiB); p = 1: 0x7fffffff pages
    (if (i32.eq (local.get $c) (i32.const 0x42)) (then
      (call $errno (memory.grow (select (i32.const 0x7fffffff) (i32.const 65536) (local.get $p))))
      (i32.store (i32.const 0x1000) (memory.size))))

    ;; --- lying replies ---
    ;; 'X': p = 0: a reply outside memory; p = 1: a 4 GiB reply; p = 2: a reply that is not JSON
    (if (i32.eq (local.get $c) (i32.const 0x58)) (then
      (if (i32.eq (local.get $p) (i32.const 0))
        (then (return (i64.or (i64.shl (i64.const 0x7ffffff0) (i64.const 32)) (i64.const 100)))))
      (if (i32.eq (local.get $p) (i32.const 1))
        (then (return (i64.or (i64.shl (i64.const 0x2100) (i64.const 32)) (i64.const 0xffffffff)))))
      (return (i64.or (i64.shl (i64.const 0x400) (i64.const 32)) (i64.const 11)))))

    ;; Anything else ('.'): nothing tried (word 0 is 0, the rest the sentinel).
    ;; The report: words 1..15 are the out-parameter area's first 15 words, then hex.
    (memory.copy (i32.const 0x104) (i32.const 0x1000) (i32.const 60))
    (local.set $i (i32.const 0))
    (loop $digits
      (local.set $b (i32.load8_u offset=0x100 (local.get $i)))
      (i32.store8 offset=0x214d (i32.shl (local.get $i) (i32.const 1))
        (call $hex (i32.shr_u (local.get $b) (i32.const 4))))
      (i32.store8 offset=0x214e (i32.shl (local.get $i) (i32.const 1))
        (call $hex (i32.and (local.get $b) (i32.const 15))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $digits (i32.lt_u (local.get $i) (i32.const 64))))
    (i64.or (i64.shl (i64.const 0x2100) (i64.const 32)) (i64.const 208)))
)
