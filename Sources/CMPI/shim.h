// Open MPI for Neural's data-parallel training (package trait `MPI`).
//
// Open MPI's handles (MPI_COMM_WORLD, MPI_FLOAT, MPI_SUM, MPI_IN_PLACE, ...) are macros that
// take the address of global objects; Swift's importer cannot see them, so they are wrapped
// in static inline functions here.
#ifndef NEURAL_CMPI_SHIM_H
#define NEURAL_CMPI_SHIM_H

#include <mpi.h>

static inline MPI_Comm nmpi_comm_world(void) { return MPI_COMM_WORLD; }
static inline MPI_Datatype nmpi_float(void) { return MPI_FLOAT; }
static inline MPI_Datatype nmpi_double(void) { return MPI_DOUBLE; }
static inline MPI_Datatype nmpi_byte(void) { return MPI_BYTE; }
static inline MPI_Op nmpi_sum(void) { return MPI_SUM; }
static inline MPI_Op nmpi_max(void) { return MPI_MAX; }
static inline void *nmpi_in_place(void) { return MPI_IN_PLACE; }
static inline MPI_Errhandler nmpi_errors_return(void) { return MPI_ERRORS_RETURN; }
static inline int nmpi_thread_serialized(void) { return MPI_THREAD_SERIALIZED; }
static inline int nmpi_success(void) { return MPI_SUCCESS; }

#endif
