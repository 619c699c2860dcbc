/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* kprobe, fentry: the do_unlinkat() event both examples send to user space. */
#ifndef __UNLINK_EVENT_H
#define __UNLINK_EVENT_H

#define TASK_COMM_LEN	 16
#define MAX_FILENAME_LEN 128

struct unlink_event {
	int pid;
	int ret;		   /* do_unlinkat()'s return value (exit events) */
	int exit_event;		   /* 0: entry (filename valid), 1: return */
	char comm[TASK_COMM_LEN];
	char filename[MAX_FILENAME_LEN];
};

#endif /* __UNLINK_EVENT_H */
