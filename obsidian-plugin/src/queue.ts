/**
 * One queue for everything that runs the vitnotes program: one CLI process at a time (each one may
 * load torch), in the order asked. Asking again for a job that is already queued or running (the
 * same key: "fill Papers/ViT.md") joins it instead of starting a second one.
 */
export interface Job {
	key: string;
	/** What the status bar and the Notices call it: "filling ViT". */
	label: string;
	run: (signal: AbortSignal) => Promise<void>;
}

interface Entry {
	job: Job;
	done: Promise<void>;
	start: () => void;
	abort: AbortController;
}

export class JobQueue {
	private entries: Entry[] = [];
	private closed = false;

	/** Called whenever the running job or the queue length changes. */
	constructor(private readonly onChange: () => void = () => undefined) {}

	get running(): Job | null {
		return this.entries[0]?.job ?? null;
	}

	get waiting(): number {
		return Math.max(0, this.entries.length - 1);
	}

	has(key: string): boolean {
		return this.entries.some((e) => e.job.key === key);
	}

	/** Run the job after the ones before it; the promise settles when it has finished (never rejects). */
	add(job: Job): { done: Promise<void>; joined: boolean } {
		const same = this.entries.find((e) => e.job.key === job.key);
		if (same) return { done: same.done, joined: true };
		if (this.closed) return { done: Promise.resolve(), joined: false };
		const abort = new AbortController();
		let start = () => undefined as void;
		const started = new Promise<void>((r) => (start = r));
		const entry: Entry = { job, abort, start, done: Promise.resolve() };
		entry.done = started
			.then(() => (abort.signal.aborted ? undefined : job.run(abort.signal)))
			.catch((e) => console.error("vitnotes:", job.label, e))
			.finally(() => this.next(entry));
		this.entries.push(entry);
		if (this.entries.length === 1) entry.start();
		this.onChange();
		return { done: entry.done, joined: false };
	}

	private next(finished: Entry): void {
		this.entries = this.entries.filter((e) => e !== finished);
		this.entries[0]?.start();
		this.onChange();
	}

	/** Stop the running job and drop the waiting ones. */
	cancelAll(): void {
		for (const e of this.entries) e.abort.abort();
		for (const e of this.entries.slice(1)) e.start(); // they see the abort and end at once
	}

	/** Plugin unload: cancel everything, accept nothing more. */
	close(): void {
		this.closed = true;
		this.cancelAll();
	}
}
