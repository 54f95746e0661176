// SPDX-License-Identifier: GPL-2.0-or-later
#include <stdio.h>
#include <stdlib.h>

#include "vmm/cli.h"
#include "vmm/vm.h"

int main(int argc, char **argv)
{
	struct vm_config cfg;
	struct vm vm;
	char err[512];
	int status;

	switch (cli_parse(argc, argv, &cfg, stdout, stderr)) {
	case CLI_EXIT_OK:
		return 0;
	case CLI_ERROR:
		return 2;
	case CLI_RUN:
		break;
	}
	if (vm_prepare(&vm, &cfg, err, sizeof(err)) < 0) {
		fprintf(stderr, "minivmm: %s\n", err);
		vm_destroy(&vm);
		return 2;
	}
	status = vm_start(&vm, err, sizeof(err));
	if (status < 0) {
		fprintf(stderr, "minivmm: %s\n", err);
		vm_destroy(&vm);
		return status == VM_ERR_USER ? 2 : 1;
	}
	status = vm_run(&vm);
	vm_report_stats(&vm);
	vm_destroy(&vm);
	return status;
}
