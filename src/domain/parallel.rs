//! Work cut in parts, one thread per core (`std::thread::scope`): the
//! national accessibility and the preparation of an import's rows.

/// Items per part: `n` cut in as many parts as the machine has cores.
pub(crate) fn part_size(n: usize) -> usize {
    let threads = std::thread::available_parallelism().map_or(1, |t| t.get());
    n.div_ceil(threads).max(1)
}

/// `work(first, count)` over `0..n` cut in ranges of `size`, each in its
/// own thread; the results in order (at least one, for `n == 0`). A
/// national build covers 35,000 communes; `diagnosis::compute_all` scores
/// its professions one per thread (`size` 1).
pub(crate) fn in_parts<R: Send>(
    n: usize,
    size: usize,
    work: impl Fn(usize, usize) -> R + Sync,
) -> Vec<R> {
    if n <= size {
        return vec![work(0, n)];
    }
    let work = &work;
    std::thread::scope(|s| {
        let running: Vec<_> = (0..n)
            .step_by(size)
            .map(|first| s.spawn(move || work(first, size.min(n - first))))
            .collect();
        running
            .into_iter()
            .map(|t| t.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    })
}

/// Fewer items than this are mapped on the calling thread: a thread
/// costs more than they do.
const MIN_PART: usize = 2_000;

/// `f` of each item, in order, the items cut in parts as [`in_parts`]
/// does (a FINESS file's 100,000 content hashes and folded texts).
pub(crate) fn map_slice<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let size = part_size(items.len()).max(MIN_PART);
    let f = &f;
    let parts = in_parts(items.len(), size, |first, count| {
        items[first..first + count]
            .iter()
            .map(f)
            .collect::<Vec<R>>()
    });
    let mut out = Vec::with_capacity(items.len());
    for part in parts {
        out.extend(part);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_come_back_in_order() {
        assert_eq!(
            in_parts(10, 3, |first, count| (first, count)),
            [(0, 3), (3, 3), (6, 3), (9, 1)]
        );
        assert_eq!(in_parts(0, 1, |first, count| (first, count)), [(0, 0)]);
        let items: Vec<u32> = (0..10_001).collect();
        let doubled = map_slice(&items, |x| x * 2);
        assert_eq!(doubled.len(), items.len());
        assert!(doubled.iter().enumerate().all(|(i, d)| *d == 2 * i as u32));
        assert!(map_slice(&[] as &[u32], |x| *x).is_empty());
    }
}
