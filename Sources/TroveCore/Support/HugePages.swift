#if canImport(Glibc)
import Glibc
#endif

/// Arrays the writer probes at random across hundreds of megabytes (its uid and head tables at ten million
/// profiles): on 4 KiB pages nearly every probe also misses the TLB, and the page walk misses the cache in
/// turn. Linux backs memory advised `MADV_HUGEPAGE` with 2 MiB pages when transparent huge pages are on
/// ("madvise" or "always"), one TLB entry for 512 of the small ones; the advice must come before the first
/// touch, so the array is created uninitialized, advised, then filled. Elsewhere, or for small arrays, a
/// plain array.
enum HugePages {
    /// Below this an array stays on small pages: a huge page would mostly hold nothing.
    static let threshold = 8 << 20

    static func array<Element>(repeating element: Element, count: Int) -> [Element] {
        guard count * MemoryLayout<Element>.stride >= threshold else { return Array(repeating: element, count: count) }
        return Array(unsafeUninitializedCapacity: count) { buffer, initialized in
            advise(UnsafeMutableRawBufferPointer(buffer))
            buffer.initialize(repeating: element)
            initialized = count
        }
    }

    private static func advise(_ memory: UnsafeMutableRawBufferPointer) {
        #if os(Linux)
        guard let base = memory.baseAddress else { return }
        let huge = 2 << 20
        let start = (Int(bitPattern: base) + huge - 1) & ~(huge - 1)
        let end = (Int(bitPattern: base) + memory.count) & ~(huge - 1)
        guard end > start, let aligned = UnsafeMutableRawPointer(bitPattern: start) else { return }
        _ = madvise(aligned, end - start, MADV_HUGEPAGE)  // advice only: without it, small pages
        #endif
    }
}
