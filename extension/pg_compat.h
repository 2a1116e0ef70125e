/*-------------------------------------------------------------------------
 *
 * pg_compat.h
 *	  The few server APIs that differ between the PostgreSQL majors the
 *	  extension builds against (15 to 18), behind one name each.
 *
 *	  - OnnxMyProcSlot: this backend's slot in per-backend shared arrays,
 *	    0 .. MaxBackends (MyBackendId is 1-based up to 16; 17 replaced it
 *	    with the 0-based MyProcNumber).
 *	  - OnnxMyLocalXid: the local transaction id (MyProc->lxid up to 16,
 *	    MyProc->vxid.lxid from 17).
 *	  - OnnxNoReturn: pg_attribute_noreturn() after a declaration up to 17,
 *	    pg_noreturn before it from 18; written in both places here.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PG_COMPAT_H
#define PG_COMPAT_H

#include "postgres.h"

#include "storage/proc.h"

#if PG_VERSION_NUM >= 170000
#include "storage/procnumber.h"
#define OnnxMyProcSlot() ((int) MyProcNumber)
#define OnnxMyLocalXid() (MyProc->vxid.lxid)
#else
#include "storage/backendid.h"
#define OnnxMyProcSlot() ((int) MyBackendId - 1)
#define OnnxMyLocalXid() (MyProc->lxid)
#endif

#if PG_VERSION_NUM >= 180000
#define OnnxNoReturnBefore pg_noreturn
#define OnnxNoReturnAfter
#else
#define OnnxNoReturnBefore
#define OnnxNoReturnAfter pg_attribute_noreturn()
#endif

#endif							/* PG_COMPAT_H */
